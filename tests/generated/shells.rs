//! The completion scripts load in real bash, zsh and fish, and `sockcat PREFIX<TAB>` offers exactly the
//! subcommands whose names start with PREFIX (`ud` -> udp-send, udp-recv), never a hidden one.
//!
//! The names come from `Cli::command()`, so a new subcommand is checked as soon as it exists. Shells that
//! are not installed are skipped, except under CI=true (`.ci/run` installs them).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use super::util::{self, Done};
use super::{hidden_subcommand_names, path_str, subcommand_names, write_generated};

/// The prefixes to complete: the first two letters of every subcommand, and every hidden name whole.
fn prefixes() -> BTreeSet<String> {
    let mut prefixes: BTreeSet<String> = subcommand_names()
        .iter()
        .map(|name| name.chars().take(2).collect())
        .collect();
    prefixes.extend(hidden_subcommand_names());
    prefixes
}

/// What completing `sockcat PREFIX` must offer.
fn expected(prefix: &str) -> BTreeSet<String> {
    subcommand_names()
        .into_iter()
        .filter(|name| name.starts_with(prefix))
        .collect()
}

fn check(shell: &str, prefix: &str, offered: BTreeSet<String>) {
    assert_eq!(
        offered,
        expected(prefix),
        "{shell}: completing `sockcat {prefix}<TAB>` offered the wrong subcommands"
    );
}

/// A shell with no user configuration and its files kept in `home`.
fn shell(program: &str, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(home)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env_remove("BASH_ENV")
        .env_remove("ENV")
        .env_remove("ZDOTDIR");
    cmd
}

fn assert_clean(shell: &str, done: &Done) {
    assert!(
        done.success() && done.stderr.trim().is_empty(),
        "{shell} did not load the completions cleanly\n{}",
        done.show()
    );
}

const BASH: &str = r#"
source "$1" || exit 10
spec=$(complete -p sockcat) || exit 11
fn=$(sed -n 's/.*-F \([^ ]*\).*/\1/p' <<<"$spec")
[ -n "$fn" ] || exit 12
shift
for prefix in "$@"; do
    COMP_WORDS=(sockcat "$prefix"); COMP_CWORD=1
    COMP_LINE="sockcat $prefix"; COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    "$fn" sockcat "$prefix" sockcat || exit 13
    echo "$prefix:${COMPREPLY[*]}"
done
"#;

#[test]
fn bash_completes_subcommands() {
    if !util::have("bash") {
        return;
    }
    let dir = write_generated("completions");
    let mut cmd = shell("bash", dir.path());
    cmd.args(["--norc", "--noprofile", "-c", BASH, "bash"])
        .arg(dir.path().join("sockcat.bash"))
        .args(prefixes());
    let done = util::run(cmd);
    assert_clean("bash", &done);
    let out = done.stdout_str();
    for prefix in prefixes() {
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{prefix}:")))
            .unwrap_or_else(|| panic!("bash: no answer for {prefix}\n{}", done.show()));
        check(
            "bash",
            &prefix,
            line.split_whitespace().map(String::from).collect(),
        );
    }
}

#[test]
fn fish_completes_subcommands() {
    if !util::have("fish") {
        return;
    }
    let dir = write_generated("completions");
    let script = r#"source $argv[1]; or exit 10
for p in $argv[2..]; echo "PREFIX:$p"; complete -C"sockcat $p"; end"#;
    let mut cmd = shell("fish", dir.path());
    cmd.args(["--no-config", "-c", script])
        .arg(dir.path().join("sockcat.fish"))
        .args(prefixes());
    let done = util::run(cmd);
    assert_clean("fish", &done);
    let out = done.stdout_str();
    for prefix in prefixes() {
        let offered = out
            .split("PREFIX:")
            .find_map(|block| block.strip_prefix(&format!("{prefix}\n")))
            .unwrap_or_else(|| panic!("fish: no answer for {prefix}\n{}", done.show()));
        let names = offered
            .lines()
            .map(|l| l.split('\t').next().unwrap_or_default().to_string())
            .filter(|name| !name.is_empty())
            .collect();
        check("fish", &prefix, names);
    }
}

/// zsh runs interactively in a pseudo-terminal (zsh/zpty), with compinit loading `_sockcat` from fpath
/// and `compadd` wrapped to print every match; then `sockcat PREFIX<TAB>` is typed.
///
/// compinit's dump file goes into the temporary directory: never pass it a path outside (compdump
/// replaces the file with `mv -f`, which once turned /dev/null into a regular file), and note that a
/// later `-d` re-enables dumping even after `-D`.
const ZSH: &str = r#"
zmodload zsh/zpty || exit 20
compdir=$1; line=$2
zpty z zsh -f -i
zpty -w z "PS1=''; fpath=($compdir \$fpath); autoload -U compinit; compinit -u -d $compdir/.zcompdump"
zpty -w z 'print -r -- "$_comps[sockcat]"'
zpty -w z '_capture_end() { compstate[list]=; compstate[insert]=; print -r -- "<""END>"; }'
zpty -w z 'comppostfuncs=(_capture_end)'
zpty -w z 'compadd () { builtin compadd -O __hits "$@"; local h; for h in $__hits; do print -r -- "<""HIT>$h"; done; builtin compadd "$@" }'
zpty -w z 'bindkey "^I" complete-word'
zpty -w z "print -r -- '<''READY>'"
zpty -r z out '*<READY>*' || exit 21
print -r -- "${out//$'\r'/}" | grep -qx '_sockcat' || { print -r -- "_sockcat not registered: $out"; exit 22; }
zpty -w -n z "$line"$'\t'
out=
while zpty -r z chunk; do
    out+=$chunk
    [[ $out == *'<END>'* ]] && break
done
for l in ${(f)out}; do [[ $l == *'<HIT>'* ]] && print -r -- ${${l##*<HIT>}%%$'\r'}; done
zpty -d z
"#;

#[test]
fn zsh_completes_subcommands() {
    if !util::have("zsh") {
        return;
    }
    let dir = write_generated("completions");
    // The script is syntactically valid zsh.
    let mut cmd = shell("zsh", dir.path());
    cmd.args(["-f", "-n"]).arg(dir.path().join("_sockcat"));
    assert_clean("zsh -n", &util::run(cmd));
    for prefix in prefixes() {
        let mut cmd = shell("zsh", dir.path());
        cmd.args(["-f", "-c", ZSH, "zsh", path_str(dir.path())])
            .arg(format!("sockcat {prefix}"));
        let done = util::run(cmd);
        assert!(done.success(), "zsh completion failed\n{}", done.show());
        let names = done.stdout_str().lines().map(String::from).collect();
        check("zsh", &prefix, names);
    }
    // Nothing outside the temporary directory was written over.
    use std::os::unix::fs::FileTypeExt;
    let null = std::fs::metadata("/dev/null").expect("/dev/null");
    assert!(
        null.file_type().is_char_device(),
        "/dev/null is no longer a device"
    );
}

/// `sockcat sockopt --get SO_RC<TAB>` in bash offers the option names that start so (issue 15
/// item 15): the names come from the option table.
#[test]
fn bash_completes_sockopt_names() {
    if !util::have("bash") {
        return;
    }
    let dir = write_generated("completions");
    let script = r#"
source "$1" || exit 10
fn=$(complete -p sockcat | sed -n 's/.*-F \([^ ]*\).*/\1/p')
COMP_WORDS=(sockcat sockopt --get SO_RC); COMP_CWORD=3
COMP_LINE="sockcat sockopt --get SO_RC"; COMP_POINT=${#COMP_LINE}
COMPREPLY=()
"$fn" sockcat SO_RC --get || exit 13
echo "${COMPREPLY[*]}"
"#;
    let mut cmd = shell("bash", dir.path());
    cmd.args(["--norc", "--noprofile", "-c", script, "bash"])
        .arg(dir.path().join("sockcat.bash"));
    let done = util::run(cmd);
    assert_clean("bash", &done);
    let offered: BTreeSet<String> = done
        .stdout_str()
        .split_whitespace()
        .map(String::from)
        .collect();
    let want: BTreeSet<String> = ["SO_RCVBUF", "SO_RCVLOWAT", "SO_RCVTIMEO"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(offered, want, "{}", done.show());
}
