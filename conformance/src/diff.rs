//! A small line diff for failure messages (golden files, expected vs actual frames).
//! Longest common subsequence over lines; inputs are a few hundred lines at most.

/// A unified-style diff of `expected` against `actual`: unchanged lines start with two spaces,
/// removed (expected only) with `- `, added (actual only) with `+ `. Runs of more than eight
/// unchanged lines are shortened to their first and last three.
pub fn line_diff(expected: &str, actual: &str) -> String {
    let old: Vec<&str> = expected.lines().collect();
    let new: Vec<&str> = actual.lines().collect();
    // lcs[i][j]: length of the LCS of old[i..] and new[j..].
    let mut lcs = vec![vec![0u32; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut lines: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            lines.push((' ', old[i]));
            i += 1;
            j += 1;
        } else if i < old.len() && (j == new.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            lines.push(('-', old[i]));
            i += 1;
        } else {
            lines.push(('+', new[j]));
            j += 1;
        }
    }
    let mut out = String::new();
    let mut index = 0;
    while index < lines.len() {
        let run = lines[index..]
            .iter()
            .take_while(|(mark, _)| *mark == ' ')
            .count();
        if run > 8 {
            for (_, line) in &lines[index..index + 3] {
                out.push_str(&format!("  {line}\n"));
            }
            out.push_str(&format!("  … {} unchanged lines …\n", run - 6));
            for (_, line) in &lines[index + run - 3..index + run] {
                out.push_str(&format!("  {line}\n"));
            }
            index += run;
            continue;
        }
        let (mark, line) = lines[index];
        out.push(if mark == ' ' { ' ' } else { mark });
        out.push(' ');
        out.push_str(line);
        out.push('\n');
        index += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::line_diff;

    #[test]
    fn marks_removed_and_added_lines() {
        let diff = line_diff("a\nb\nc\n", "a\nx\nc\n");
        assert_eq!(diff, "  a\n- b\n+ x\n  c\n");
    }

    #[test]
    fn shortens_long_unchanged_runs() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\nold\n";
        let new = "1\n2\n3\n4\n5\n6\n7\n8\n9\nnew\n";
        let diff = line_diff(old, new);
        assert!(diff.contains("… 3 unchanged lines …"), "{diff}");
        assert!(diff.ends_with("- old\n+ new\n"), "{diff}");
    }
}
