//! Walking an e-invoice by local element names, and reading values with
//! the XML path they came from.
//!
//! Elements are matched by local name, so any namespace prefix works. A
//! value that is present but cannot be read as its type is not silently
//! dropped: [`Reader`] records it (`EInvoice::unreadable`), because an
//! amount the parser could not read is a broken invoice, not a missing
//! field.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::NaiveDate;
use roxmltree::{Node, NodeId};
use rust_decimal::Decimal;

use crate::domain::einvoice::{At, Period, Term};

/// The first element at `path` (local names) below `node`.
pub(super) fn child<'a, 'i: 'a>(node: Option<Node<'a, 'i>>, path: &[&str]) -> Option<Node<'a, 'i>> {
    let mut current = node?;
    for name in path {
        current = current
            .children()
            .find(|c| c.is_element() && c.tag_name().name() == *name)?;
    }
    Some(current)
}

/// Every element at `path` (local names) below `node`, in document order.
pub(super) fn all<'a, 'i: 'a>(node: Option<Node<'a, 'i>>, path: &[&str]) -> Vec<Node<'a, 'i>> {
    let mut current: Vec<Node<'a, 'i>> = node.into_iter().collect();
    for name in path {
        current = current
            .iter()
            .flat_map(|n| n.children())
            .filter(|c| c.is_element() && c.tag_name().name() == *name)
            .collect();
    }
    current
}

fn qualified(node: Node<'_, '_>) -> String {
    let local = node.tag_name().name();
    match node
        .tag_name()
        .namespace()
        .and_then(|ns| node.lookup_prefix(ns))
    {
        Some(prefix) if !prefix.is_empty() => format!("{prefix}:{local}"),
        _ => local.to_string(),
    }
}

/// Trimmed text with inner runs of whitespace (line breaks of pretty-printed
/// XML) folded to one space; `None` when empty.
pub(super) fn clean(raw: &str) -> Option<String> {
    let folded = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    (!folded.is_empty()).then_some(folded)
}

/// No amount, quantity or rate on an invoice reaches this; a value that
/// does is refused, so that every sum and product computed from the XML
/// (rules, matching, payment) stays far inside `Decimal`'s range instead
/// of overflowing on a hostile file.
pub(super) const MAX_MAGNITUDE: i64 = 1_000_000_000_000;

/// A decimal as XML writes it (`+20.00`, `-1`, `12.5`); keeps its scale.
pub(super) fn parse_decimal(raw: &str) -> Option<Decimal> {
    let trimmed = raw.trim();
    if trimmed.contains(['e', 'E']) {
        return None;
    }
    Decimal::from_str(trimmed.strip_prefix('+').unwrap_or(trimmed))
        .ok()
        .filter(|d| d.abs() < Decimal::from(MAX_MAGNITUDE))
}

/// CII `format="102"` dates (`YYYYMMDD`) and UBL / ISO dates (`YYYY-MM-DD`,
/// possibly followed by a time zone). Other CII formats (610 month, 616 week)
/// are not a day and give `None`.
pub(super) fn parse_date(raw: &str) -> Option<NaiveDate> {
    let s = raw.trim();
    let compact = match s.get(..10) {
        Some(iso)
            if iso.as_bytes().get(4) == Some(&b'-') && iso.as_bytes().get(7) == Some(&b'-') =>
        {
            iso.replace('-', "")
        }
        _ => s.get(..8)?.to_string(),
    };
    if compact.len() != 8 || !compact.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = compact.get(0..4)?.parse().ok()?;
    let month: u32 = compact.get(4..6)?.parse().ok()?;
    let day: u32 = compact.get(6..8)?.parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Reads typed values with their paths and remembers the ones that were
/// there but could not be read.
pub(super) struct Reader {
    pub unreadable: Vec<At<String>>,
    /// Each element's 1-based position among its same-named siblings, and
    /// whether it has any: counted once for the whole document, so that a
    /// path costs its depth, not its siblings (an invoice of 20,000 lines
    /// would otherwise cost 20,000 steps per value read).
    positions: HashMap<NodeId, (usize, bool)>,
}

impl Reader {
    pub fn new(root: Node<'_, '_>) -> Reader {
        let mut positions = HashMap::new();
        for parent in root.descendants().filter(|n| n.is_element()) {
            let mut seen: HashMap<&str, Vec<NodeId>> = HashMap::new();
            for c in parent.children().filter(|c| c.is_element()) {
                seen.entry(c.tag_name().name()).or_default().push(c.id());
            }
            for ids in seen.values() {
                for (i, id) in ids.iter().enumerate() {
                    positions.insert(*id, (i + 1, ids.len() > 1));
                }
            }
        }
        Reader {
            unreadable: Vec::new(),
            positions,
        }
    }

    /// The element's path from the root, with the prefixes the file uses
    /// and a position where siblings share the name:
    /// `/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/
    /// ram:IncludedSupplyChainTradeLineItem[2]`.
    pub fn path_of(&self, node: Node<'_, '_>) -> String {
        let mut steps: Vec<String> = node
            .ancestors()
            .filter(|n| n.is_element())
            .map(|n| match self.positions.get(&n.id()) {
                Some((position, true)) => format!("{}[{position}]", qualified(n)),
                _ => qualified(n),
            })
            .collect();
        steps.reverse();
        format!("/{}", steps.join("/"))
    }

    /// Where an absent element would be: the nearest present ancestor's
    /// path and the missing steps.
    pub fn path_below(&self, node: Option<Node<'_, '_>>, fallback: &str, rest: &[&str]) -> String {
        let mut out = node.map_or_else(|| fallback.to_string(), |n| self.path_of(n));
        for step in rest {
            out.push('/');
            out.push_str(step);
        }
        out
    }

    /// An element's text as an identifier (whitespace removed).
    pub fn ident_of(&self, n: Node<'_, '_>) -> Term<String> {
        let compact: String = n.text()?.chars().filter(|c| !c.is_whitespace()).collect();
        (!compact.is_empty()).then(|| At {
            value: compact,
            path: self.path_of(n),
        })
    }

    /// The folded text at `path`.
    pub fn text(&mut self, node: Option<Node<'_, '_>>, path: &[&str]) -> Term<String> {
        let n = child(node, path)?;
        Some(At {
            value: clean(n.text()?)?,
            path: self.path_of(n),
        })
    }

    /// Every folded text at `path`.
    pub fn texts(&mut self, node: Option<Node<'_, '_>>, path: &[&str]) -> Vec<At<String>> {
        all(node, path)
            .into_iter()
            .filter_map(|n| {
                Some(At {
                    value: clean(n.text()?)?,
                    path: self.path_of(n),
                })
            })
            .collect()
    }

    /// An identifier (VAT id, IBAN) with all whitespace removed.
    pub fn identifier(&mut self, node: Option<Node<'_, '_>>, path: &[&str]) -> Term<String> {
        let n = child(node, path)?;
        self.ident_of(n)
    }

    /// An attribute of the element at `path`.
    pub fn attribute(
        &mut self,
        node: Option<Node<'_, '_>>,
        path: &[&str],
        name: &str,
    ) -> Term<String> {
        let n = child(node, path)?;
        Some(At {
            value: clean(n.attribute(name)?)?,
            path: format!("{}/@{name}", self.path_of(n)),
        })
    }

    pub fn amount(&mut self, node: Option<Node<'_, '_>>, path: &[&str]) -> Term<Decimal> {
        self.amount_of(child(node, path)?)
    }

    pub fn amount_of(&mut self, n: Node<'_, '_>) -> Term<Decimal> {
        self.typed(n, parse_decimal)
    }

    /// The element's text read by `parse`; text that does not parse is
    /// kept as unreadable.
    fn typed<T>(&mut self, n: Node<'_, '_>, parse: fn(&str) -> Option<T>) -> Term<T> {
        let raw = n.text().and_then(clean)?;
        match parse(&raw) {
            Some(value) => Some(At {
                value,
                path: self.path_of(n),
            }),
            None => {
                self.unreadable.push(At {
                    value: raw,
                    path: self.path_of(n),
                });
                None
            }
        }
    }

    /// The text of `id` in the first element at `path` whose `code` child
    /// says `wanted` (a document reference of type 130 is BT-18).
    pub fn text_where(
        &mut self,
        parent: Option<Node<'_, '_>>,
        path: &[&str],
        (code, wanted): (&str, &str),
        id: &str,
    ) -> Term<String> {
        all(parent, path)
            .into_iter()
            .filter(|d| {
                child(Some(*d), &[code])
                    .and_then(|t| t.text())
                    .is_some_and(|t| t.trim() == wanted)
            })
            .find_map(|d| self.text(Some(d), &[id]))
    }

    /// A period (BG-14, BG-26) with the binding's start and end elements.
    pub fn period(&mut self, p: Node<'_, '_>, start: &str, end: &str) -> Period {
        Period {
            path: self.path_of(p),
            start: self.date(Some(p), &[start]),
            end: self.date(Some(p), &[end]),
        }
    }

    /// A date: a CII `DateTimeString` (or `DateString`) below `path`, or
    /// the UBL element at `path` itself.
    pub fn date(&mut self, node: Option<Node<'_, '_>>, path: &[&str]) -> Term<NaiveDate> {
        let n = child(node, path)?;
        let n = child(Some(n), &["DateTimeString"])
            .or_else(|| child(Some(n), &["DateString"]))
            .unwrap_or(n);
        self.typed(n, parse_date)
    }
}

/// Of the tax total amounts, BT-110 (in the invoice currency; a single
/// amount whatever its currency) and BT-111 (in the VAT accounting
/// currency, when that is another). `unlabelled_is_invoice_currency`: an
/// amount without `currencyID` counts as the invoice currency's (CII).
pub(super) fn tax_amounts<'a, 'i>(
    amounts: &[Node<'a, 'i>],
    currency: Option<&At<String>>,
    tax_currency: Option<&At<String>>,
    unlabelled_is_invoice_currency: bool,
) -> (Option<Node<'a, 'i>>, Option<Node<'a, 'i>>) {
    let in_currency = |code: Option<&At<String>>, unlabelled: bool| {
        amounts
            .iter()
            .copied()
            .find(|n| match (n.attribute("currencyID"), code) {
                (Some(theirs), Some(ours)) => theirs.trim().eq_ignore_ascii_case(&ours.value),
                (None, Some(_)) => unlabelled,
                _ => false,
            })
    };
    let tax_total = in_currency(currency, unlabelled_is_invoice_currency).or(match amounts {
        [only] => Some(*only),
        _ => None,
    });
    let accounting = tax_currency
        .filter(|t| Some(t.value.as_str()) != currency.map(|c| c.value.as_str()))
        .and_then(|t| in_currency(Some(t), false));
    (tax_total, accounting)
}
