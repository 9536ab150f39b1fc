//! `sockcat generate`: completions and man pages for packagers (hidden from help and completions).

use std::io::Write;

use anyhow::Context;

use crate::cli::{GenerateArgs, GenerateWhat};
use crate::exit;

pub(crate) fn run(args: &GenerateArgs) -> anyhow::Result<()> {
    match &args.what {
        GenerateWhat::Completions { shell } => {
            let script = crate::generate::completion(*shell);
            let mut out = std::io::stdout().lock();
            out.write_all(&script)
                .and_then(|()| out.flush())
                .map_err(|e| exit::output_error(e, "stdout"))
        }
        GenerateWhat::Man { dir } => crate::generate::write_man_pages(dir)
            .with_context(|| format!("generate man pages in {}", dir.display())),
    }
}
