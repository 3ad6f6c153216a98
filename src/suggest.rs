//! "Did you mean …?": the one edit distance and typo policy the parsers and
//! the CLI share.

/// The candidate closest to `word`, if close enough to be a likely typo:
/// equal ignoring case, `_` and `-` (`pushb`, `wait_all`), or within a small
/// edit distance (`push`, `deplyo`).
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let w = norm(word);
    let mut best: Option<(usize, &str)> = None;
    for cand in candidates {
        // `mariadb2` is no typo of `mariadb1`: they are different instances.
        if cand == word || strip_digits(cand) == strip_digits(word) {
            continue;
        }
        let d = if norm(cand) == w {
            0
        } else {
            edit_distance(word, cand)
        };
        let len = word.chars().count().max(cand.chars().count());
        // About one edit per three characters: `push`→`pushB` and `nn`→`n`
        // yes, `x`→`s` no.
        let close = d * 3 <= len || (d == 1 && len >= 2);
        if close && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c)
}

fn strip_digits(s: &str) -> String {
    s.chars().filter(|c| !c.is_ascii_digit()).collect()
}

/// Optimal string alignment distance: Levenshtein plus adjacent
/// transpositions (`fro` → `for` is one edit).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Rows i-2, i-1 and i of the dynamic-programming table.
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}
