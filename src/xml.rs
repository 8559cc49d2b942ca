//! Limits for XML from strangers, checked before any parser sees it.
//!
//! `roxmltree` parses elements recursively (one `parse_element` →
//! `parse_content` frame pair per level), so a few thousand nested elements
//! overflow a thread's stack and abort the whole process: no `Result`, no
//! contained panic. [`check_depth`] counts the nesting in one flat pass over
//! the bytes, so a document too deep is refused with a reason instead. Every
//! parse of untrusted XML (e-invoices, pain.002 reports) goes through
//! [`parse`], which checks first and refuses DTDs.

/// The deepest element nesting accepted. Real e-invoices and bank reports
/// stay below 20 levels; 100 leaves room and is far from the stack limit.
pub const MAX_DEPTH: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("XML nested deeper than {limit} elements")]
pub struct TooDeep {
    pub limit: usize,
}

/// Why [`parse`] refused a document.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error(transparent)]
    TooDeep(#[from] TooDeep),
    #[error(transparent)]
    Xml(#[from] roxmltree::Error),
}

/// Parses XML from a stranger: nested at most [`MAX_DEPTH`] deep (checked
/// before the recursive parser runs), no DTD (no entity expansion), at
/// most `nodes_limit` nodes.
pub fn parse(text: &str, nodes_limit: u32) -> Result<roxmltree::Document<'_>, ParseError> {
    check_depth(text.as_bytes(), MAX_DEPTH)?;
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit,
    };
    Ok(roxmltree::Document::parse_with_options(text, options)?)
}

/// Refuses XML whose elements nest deeper than `limit`. Works on bytes (the
/// markup characters are ASCII in UTF-8 and ISO-8859-1 alike) and never
/// recurses. It only counts: malformed markup is left for the parser to
/// refuse, and an unterminated construct ends the scan.
pub fn check_depth(xml: &[u8], limit: usize) -> Result<(), TooDeep> {
    let mut depth = 0usize;
    let mut rest = xml;
    while let Some(lt) = rest.iter().position(|&b| b == b'<') {
        rest = rest.get(lt..).unwrap_or_default();
        let skip_past: Option<&[u8]> = if rest.starts_with(b"<!--") {
            Some(&b"-->"[..])
        } else if rest.starts_with(b"<![CDATA[") {
            Some(&b"]]>"[..])
        } else if rest.starts_with(b"<?") {
            Some(&b"?>"[..])
        } else {
            None
        };
        if let Some(end) = skip_past {
            match after(rest, end) {
                Some(r) => rest = r,
                None => return Ok(()),
            }
            continue;
        }
        let Some(tag_len) = tag_end(rest) else {
            return Ok(());
        };
        let tag = rest.get(..tag_len).unwrap_or_default();
        if tag.starts_with(b"</") {
            depth = depth.saturating_sub(1);
        } else if !tag.starts_with(b"<!") && !tag.ends_with(b"/>") {
            depth += 1;
            if depth > limit {
                return Err(TooDeep { limit });
            }
        }
        rest = rest.get(tag_len..).unwrap_or_default();
    }
    Ok(())
}

/// Length of the tag at the start of `s` up to and including its `>`,
/// skipping `>` inside quoted attribute values.
fn tag_end(s: &[u8]) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, &b) in s.iter().enumerate() {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return Some(i + 1),
            (None, _) => {}
        }
    }
    None
}

/// What follows the first `needle` in `s`.
fn after<'s>(s: &'s [u8], needle: &[u8]) -> Option<&'s [u8]> {
    s.windows(needle.len())
        .position(|w| w == needle)
        .and_then(|i| s.get(i + needle.len()..))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth))
    }

    fn check(xml: &str, limit: usize, ok: bool) {
        assert_eq!(check_depth(xml.as_bytes(), limit).is_ok(), ok, "{xml}");
    }

    #[test]
    fn counts_nesting_not_siblings_comments_or_attributes() {
        for (xml, limit, ok) in [
            (nested(3), 3, true),
            (nested(4), 3, false),
            ("<a><b/><b/><b/><b/></a>".to_string(), 1, true),
            ("<a><b x='>'><c/></b></a>".to_string(), 2, true),
            ("<a><b x=\"/>\"><c></c></b></a>".to_string(), 2, false),
            (
                "<?xml version='1.0'?><!-- <a><a><a> --><a/>".to_string(),
                1,
                true,
            ),
            ("<a><![CDATA[<b><c><d>]]></a>".to_string(), 1, true),
            ("<a><b>unterminated".to_string(), 1, false),
            ("<a".to_string(), 0, true),
        ] {
            check(&xml, limit, ok);
        }
    }

    #[test]
    fn five_thousand_levels_are_refused_with_the_limit() {
        assert_eq!(
            check_depth(nested(5_000).as_bytes(), MAX_DEPTH)
                .unwrap_err()
                .to_string(),
            "XML nested deeper than 100 elements"
        );
    }
}
