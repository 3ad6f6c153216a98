//! Python's `shlex.split(line, comments=True)` (POSIX mode), which the INI
//! inventory plugin uses to cut a host line into the host pattern and its
//! `key=value` tokens.
//!
//! POSIX rules: whitespace separates tokens; `'...'` keeps everything;
//! `"..."` keeps everything but lets `\` escape `"` and `\`; outside quotes
//! `\` escapes any character; `#` starts a comment anywhere outside quotes,
//! even inside a word (`a#b` is `a`). Each token comes with the byte range
//! of the line it was read from, for diagnostics.

/// A token and the byte range of the source it spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

/// `shlex.split(line, comments=True)`, or Python's error message.
pub fn split(line: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = line.char_indices().peekable();
    let mut token = String::new();
    let (mut start, mut end) = (0, 0);
    // A token is emitted even when empty if it was quoted (`''`).
    let mut in_token = false;
    let after = |i: usize, c: char| i + c.len_utf8();
    while let Some((i, c)) = chars.next() {
        if is_whitespace(c) {
            if in_token {
                tokens.push(Token {
                    text: std::mem::take(&mut token),
                    start,
                    end,
                });
                in_token = false;
            }
            continue;
        }
        if c == '#' {
            break;
        }
        if !in_token {
            in_token = true;
            start = i;
        }
        match c {
            '\'' | '"' => loop {
                let Some((j, d)) = chars.next() else {
                    return Err("No closing quotation".into());
                };
                end = after(j, d);
                if d == c {
                    break;
                }
                if c == '"' && d == '\\' {
                    let Some((_, e)) = chars.next() else {
                        return Err("No escaped character".into());
                    };
                    // Inside double quotes only `"` and `\` are escaped.
                    if e != '"' && e != '\\' {
                        token.push('\\');
                    }
                    token.push(e);
                } else {
                    token.push(d);
                }
            },
            '\\' => {
                let Some((k, e)) = chars.next() else {
                    return Err("No escaped character".into());
                };
                end = after(k, e);
                token.push(e);
            }
            c => {
                end = after(i, c);
                token.push(c);
            }
        }
    }
    if in_token {
        tokens.push(Token {
            text: token,
            start,
            end,
        });
    }
    Ok(tokens)
}

/// shlex's `whitespace`: space, tab, CR and LF only.
fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<String> {
        split(line)
            .unwrap_or_else(|e| panic!("{line}: {e}"))
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn posix_rules() {
        assert_eq!(texts("host a=1 b='x y'"), ["host", "a=1", "b=x y"]);
        assert_eq!(texts(r#"h k="a \"q\" \n""#), ["h", r#"k=a "q" \n"#]);
        assert_eq!(texts(r"h k=a\ b"), ["h", "k=a b"]);
        assert_eq!(texts("h a#b c"), ["h", "a"]);
        assert_eq!(texts("h # comment"), ["h"]);
        assert_eq!(texts("h ''"), ["h", ""]);
        assert_eq!(texts("h k=\"#not\""), ["h", "k=#not"]);
        assert!(split("h 'open").is_err());
        assert!(split("h x\\").is_err());
    }

    #[test]
    fn token_ranges() {
        let t = split("web1  ansible_host='10.0.0.1' # c").expect("splits");
        assert_eq!((t[0].start, t[0].end), (0, 4));
        assert_eq!((t[1].start, t[1].end), (6, 29));
    }
}
