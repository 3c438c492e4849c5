//! The committed seeds of a fuzz target, kept apart from its working
//! corpus: they live in `fuzz/seeds/<target>/`, which no corpus tool
//! writes to, and each run copies the ones its corpus lacks into it, so
//! that `cargo fuzz cmin` and libFuzzer's `-merge=1`, which rewrite the
//! working corpus `fuzz/corpus/<target>/`, can never delete a seed.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The working corpus of a libFuzzer run, from its command line (program
/// name first): the first argument that is not a flag (`-name=value`) and
/// names a folder, which is where libFuzzer writes what it finds (and
/// where `-merge=1` writes the merged corpus). `None` when the run has no
/// corpus folder (it runs single inputs, as `cargo fuzz run TARGET FILE`).
///
/// ```
/// use stm_check::fuzz::run_corpus;
///
/// let dir = std::env::temp_dir();
/// let args = ["interleavings", "-artifact_prefix=a/", "-merge=1"].map(Into::into);
/// assert_eq!(run_corpus(args.into_iter().chain([dir.clone().into_os_string()])), Some(dir));
/// assert_eq!(run_corpus(["interleavings".into(), "no/such/crash-file".into()]), None);
/// ```
pub fn run_corpus(args: impl IntoIterator<Item = OsString>) -> Option<PathBuf> {
    args.into_iter()
        .skip(1)
        .filter(|arg| !arg.to_string_lossy().starts_with('-'))
        .map(PathBuf::from)
        .find(|path| path.is_dir())
}

/// Copies every seed of the folder `seeds` that `corpus` has no file of
/// that name for into `corpus` (each written whole, then linked in under
/// its name, so that a run never reads half a seed and a file already
/// there is never replaced, even when several processes start at once).
/// Returns how many were copied; a missing `seeds` folder copies none
/// (a target shipped without its source tree, as on OSS-Fuzz, where the
/// seeds travel as `<target>_seed_corpus.zip`).
pub fn merge_seeds(seeds: &Path, corpus: &Path) -> std::io::Result<usize> {
    let Ok(entries) = std::fs::read_dir(seeds) else {
        return Ok(0);
    };
    let mut copied = 0;
    for entry in entries {
        let seed = entry?.path();
        let Some(name) = seed.file_name() else {
            continue;
        };
        let target = corpus.join(name);
        if !seed.is_file() || target.exists() {
            continue;
        }
        let bytes = std::fs::read(&seed)?;
        let mut temp = tempfile::NamedTempFile::new_in(corpus)?;
        temp.write_all(&bytes)?;
        match temp.persist_noclobber(&target) {
            Ok(_) => copied += 1,
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.error),
        }
    }
    Ok(copied)
}

/// The environment variable that keeps the committed seeds out of a run
/// (set to anything but the empty string): to measure how fast the fuzzer
/// finds a bug from an empty corpus, since the seeds hold a crash of each
/// injected bug.
pub const NO_SEEDS_VARIABLE: &str = "STM_FUZZ_NO_SEEDS";

/// What each target does before libFuzzer reads its corpus: merges the
/// committed seeds (the folder `seeds`, `fuzz/seeds/<target>/`) into the
/// run's corpus ([`run_corpus`] of this process's arguments), unless
/// [`NO_SEEDS_VARIABLE`] is set. A failure to copy is reported on stderr
/// and the run goes on with the corpus it has.
pub fn seed_the_run(seeds: &Path) {
    if std::env::var_os(NO_SEEDS_VARIABLE).is_some_and(|v| !v.is_empty()) {
        return;
    }
    let Some(corpus) = run_corpus(std::env::args_os()) else {
        return;
    };
    if let Err(error) = merge_seeds(seeds, &corpus) {
        eprintln!(
            "could not copy the seeds of {} into {}: {error}",
            seeds.display(),
            corpus.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let path = e.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&path).unwrap())
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn seeds_missing_from_the_corpus_are_copied_and_nothing_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (seeds, corpus) = (dir.path().join("seeds"), dir.path().join("corpus"));
        std::fs::create_dir_all(&seeds).unwrap();
        std::fs::create_dir_all(&corpus).unwrap();
        std::fs::write(seeds.join("seed-a"), b"a").unwrap();
        std::fs::write(seeds.join("seed-b"), b"b").unwrap();
        std::fs::write(corpus.join("seed-b"), b"changed by hand").unwrap();
        std::fs::write(corpus.join("0a1b2c"), b"found").unwrap();
        assert_eq!(merge_seeds(&seeds, &corpus).unwrap(), 1);
        assert_eq!(
            files(&corpus),
            [
                ("0a1b2c".to_string(), b"found".to_vec()),
                ("seed-a".to_string(), b"a".to_vec()),
                ("seed-b".to_string(), b"changed by hand".to_vec()),
            ]
        );
        assert_eq!(merge_seeds(&seeds, &corpus).unwrap(), 0);
        assert_eq!(merge_seeds(&dir.path().join("none"), &corpus).unwrap(), 0);
        assert_eq!(files(&seeds).len(), 2, "the seeds are only read");
    }

    #[test]
    fn the_run_corpus_is_the_first_folder_among_the_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let args = |rest: &[&Path]| -> Vec<OsString> {
            ["target", "-fork=2", "-ignore_crashes=1"]
                .map(OsString::from)
                .into_iter()
                .chain(rest.iter().map(|p| p.as_os_str().to_owned()))
                .collect()
        };
        assert_eq!(run_corpus(args(&[&a, &b])), Some(a.clone()));
        assert_eq!(
            run_corpus(args(&[&dir.path().join("crash-1"), &b])),
            Some(b)
        );
        assert_eq!(run_corpus(args(&[])), None);
    }
}
