//! What the end-to-end tests share.

/// The line (from 1) of `source` (a test file's own text, from
/// `include_str!`) that holds `pattern`, which must occur on exactly one
/// line, not counting lines that name the pattern in a string.
pub fn line_of(source: &str, pattern: &str) -> usize {
    let lines: Vec<usize> = source
        .lines()
        .enumerate()
        // Not the lines of the test that name the pattern in a string.
        .filter(|(_, line)| line.contains(pattern) && !line.contains(&format!("\"{pattern}")))
        .map(|(index, _)| index + 1)
        .collect();
    assert_eq!(lines.len(), 1, "`{pattern}` on lines {lines:?}");
    lines[0]
}
