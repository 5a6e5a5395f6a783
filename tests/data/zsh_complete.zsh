# zsh -f zsh_complete.zsh FPATH_DIR OUT TYPED: types TYPED and Tab into an interactive zsh on a
# pseudo-terminal (zpty), with compinit on FPATH_DIR; every candidate offered goes to OUT.
zmodload zsh/zpty
fdir=$1 out=$2 typed=$3
zpty z zsh -f -i
zpty -w z "fpath=(${(q)fdir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "bindkey '^I' complete-word"
# compadd wrapped: what the completion function adds is also written to OUT, one per line.
zpty -w z "compadd() { if (( \${@[(I)-[OAD]]} )); then builtin compadd \"\$@\"; return; fi; local -a hits; builtin compadd -A hits \"\$@\"; print -rl -- \$hits >> ${(q)out}; builtin compadd \"\$@\"; }"
zpty -w z "print -r -- READY > ${(q)out}"
zpty -w -n z "$typed"$'\t'
repeat 100; do  # at most ~10 s; the pty is drained so that zsh never blocks on its output
  while zpty -r -t z line; do :; done
  [[ -f $out && $(wc -l < $out) -gt 1 ]] && break
  sleep 0.1
done
sleep 0.2  # the rest of the candidates of the same Tab
zpty -d z
