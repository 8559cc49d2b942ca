//! Which vendor sent this invoice? Strong keys first (VAT id, bank account),
//! then the name, fuzzily, against names and aliases. Two candidates is an
//! ambiguity for a clerk, never a guess.

use crate::domain::{ExtractedInvoice, Vendor};

/// Name similarity (Jaro-Winkler on folded names) needed to accept a vendor
/// by name alone.
const NAME_THRESHOLD: f64 = 0.92;

#[derive(Debug, PartialEq)]
pub enum VendorMatch<'a> {
    One(&'a Vendor),
    Ambiguous(Vec<String>),
    None,
}

fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Lower-cased words without punctuation or legal-form suffixes, which
/// vendors write inconsistently (`GmbH`, `G.m.b.H.`, omitted).
fn fold_name(s: &str) -> String {
    const FORMS: &[&str] = &[
        "gmbh", "ag", "kg", "sarl", "sas", "sa", "ltd", "limited", "llc", "inc", "bv", "nv", "sl",
        "srl", "spa", "plc", "co",
    ];
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !FORMS.contains(w))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn resolve_vendor<'a>(inv: &ExtractedInvoice, vendors: &'a [Vendor]) -> VendorMatch<'a> {
    // A person picked the vendor: that one, or none if it has since left
    // the master data. Never a guess over their choice.
    if let Some(chosen) = &inv.vendor_id {
        return vendors
            .iter()
            .find(|v| v.vendor_id == chosen.value)
            .map_or(VendorMatch::None, VendorMatch::One);
    }
    let pick = |found: Vec<&'a Vendor>| -> Option<VendorMatch<'a>> {
        match found.as_slice() {
            [] => None,
            [one] => Some(VendorMatch::One(one)),
            many => Some(VendorMatch::Ambiguous(
                many.iter().map(|v| v.vendor_id.clone()).collect(),
            )),
        }
    };
    if let Some(vat) = &inv.vendor_vat_id {
        let key = compact(&vat.value);
        let found = vendors
            .iter()
            .filter(|v| v.vat_id.as_deref().map(compact).as_deref() == Some(key.as_str()))
            .collect();
        if let Some(m) = pick(found) {
            return m;
        }
    }
    if let Some(iban) = &inv.iban {
        let key = compact(&iban.value);
        let found = vendors
            .iter()
            .filter(|v| v.ibans.iter().any(|i| compact(i) == key))
            .collect();
        if let Some(m) = pick(found) {
            return m;
        }
    }
    if let Some(name) = &inv.vendor_name {
        let folded = fold_name(&name.value);
        if !folded.is_empty() {
            let found = vendors
                .iter()
                .filter(|v| {
                    std::iter::once(&v.name).chain(&v.aliases).any(|n| {
                        let n = fold_name(n);
                        !n.is_empty()
                            && (n == folded || strsim::jaro_winkler(&n, &folded) >= NAME_THRESHOLD)
                    })
                })
                .collect();
            if let Some(m) = pick(found) {
                return m;
            }
        }
    }
    VendorMatch::None
}
