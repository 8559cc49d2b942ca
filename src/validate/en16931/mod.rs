//! EN 16931 business rules, checked natively on the semantic model.
//!
//! For a structured e-invoice the XML *is* the invoice, so it is judged by
//! the standard's own rules rather than by apflow's heuristics for scanned
//! pages: the core rules (BR-01 ...), the calculation rules (BR-CO-*), the
//! decimals rules (BR-DEC-*), the VAT category rules (BR-S-*, BR-Z-*,
//! BR-E-*, BR-AE-*, BR-IC-*, BR-G-*, BR-O-*), and, when the specification
//! identifier says XRechnung, the German rules (BR-DE-*). The rule texts
//! follow the CEN/TC 434 validation artefacts and KoSIT's XRechnung
//! schematron; each violation names the rule, the values that break it and
//! the XML path.
//!
//! Profiles: Factur-X MINIMUM and BASIC WL carry no lines (and MINIMUM no
//! VAT breakdown, line total or buyer address), so the rules about those
//! parts do not apply to them; ZUGFeRD 1.0 predates the standard and is
//! held to its arithmetic only (BR-CO-10 to BR-CO-16).
//!
//! Amounts are compared as the standard computes them: sums rounded to two
//! decimals, half away from zero; no float anywhere.

mod calculation;
mod core;
mod vat;
mod xrechnung;

use rust_decimal::Decimal;

use crate::domain::einvoice::{At, EInvoice, Profile, RuleViolation, Severity, Term};

/// Every rule the invoice breaks, fatal ones and warnings, in rule order
/// within each family.
pub fn check(e: &EInvoice) -> Vec<RuleViolation> {
    let mut rules = Rules {
        e,
        found: Vec::new(),
    };
    for unreadable in &e.unreadable {
        rules.fatal(
            "SYNTAX",
            &unreadable.path,
            format!(
                "the value {:?} is not a valid number or date for this element (or a number beyond 10^12)",
                unreadable.value
            ),
        );
    }
    calculation::check(&mut rules);
    if e.profile != Profile::Zugferd1 {
        core::check(&mut rules);
        calculation::decimals(&mut rules);
        vat::check(&mut rules);
        if e.profile == Profile::XRechnung {
            xrechnung::check(&mut rules);
        }
    }
    rules.found
}

/// How many violations are kept with an invoice. A hostile or broken file
/// can break a rule per line, tens of thousands of times; the first ones
/// say what is wrong, `apflow check` lists them all.
pub const KEPT_PER_INVOICE: usize = 200;

/// The violations to keep with an invoice: the first
/// [`KEPT_PER_INVOICE`], and one line that says how many more there were
/// (fatal when any of those was).
pub fn to_keep(mut found: Vec<RuleViolation>) -> Vec<RuleViolation> {
    if found.len() <= KEPT_PER_INVOICE {
        return found;
    }
    let rest = found.split_off(KEPT_PER_INVOICE);
    let severity = if rest.iter().any(|v| v.severity == Severity::Fatal) {
        Severity::Fatal
    } else {
        Severity::Warning
    };
    found.push(RuleViolation {
        rule: "MORE".to_string(),
        severity,
        message: format!(
            "and {} more violations, not kept here (apflow check lists them all)",
            rest.len()
        ),
        path: rest.first().map(|v| v.path.clone()).unwrap_or_default(),
    });
    found
}

/// Whether any violation makes the invoice invalid.
pub fn is_valid(violations: &[RuleViolation]) -> bool {
    violations.iter().all(|v| v.severity != Severity::Fatal)
}

/// The checks under way: the invoice and what was found so far.
pub(super) struct Rules<'e> {
    pub e: &'e EInvoice,
    pub found: Vec<RuleViolation>,
}

impl Rules<'_> {
    fn push(&mut self, rule: &str, severity: Severity, path: &str, message: String) {
        self.found.push(RuleViolation {
            rule: rule.to_string(),
            severity,
            message,
            path: path.to_string(),
        });
    }

    pub fn fatal(&mut self, rule: &str, path: &str, message: impl Into<String>) {
        self.push(rule, Severity::Fatal, path, message.into());
    }

    pub fn warning(&mut self, rule: &str, path: &str, message: impl Into<String>) {
        self.push(rule, Severity::Warning, path, message.into());
    }

    /// `rule` is broken unless `present`; reported at `path`.
    pub fn require(&mut self, rule: &str, present: bool, path: &str, message: &str) {
        if !present {
            self.fatal(rule, path, message);
        }
    }

    /// Whether the profile has invoice lines (not MINIMUM, not BASIC WL).
    pub fn has_lines(&self) -> bool {
        self.e.profile.has_lines()
    }

    pub fn is_minimum(&self) -> bool {
        self.e.profile == Profile::Minimum
    }
}

/// Rounded to the cent as the validation artefacts round: XPath's
/// `round(x * 100) div 100`, halves towards positive infinity (2.345 →
/// 2.35, -2.345 → -2.34).
pub(super) fn cents(d: Decimal) -> Decimal {
    let hundred = Decimal::ONE_HUNDRED;
    (d * hundred + Decimal::new(5, 1)).floor() / hundred
}

/// The one currency unit of slack the artefacts give where an amount is
/// computed from a rate (BR-CO-17, BR-S-09) or, in CII, summed per
/// category (BR-Z-08 and siblings).
pub(super) fn one_unit() -> Decimal {
    Decimal::ONE
}

/// A term's value.
pub(super) fn value<T: Clone>(t: &Term<T>) -> Option<T> {
    t.as_ref().map(|a| a.value.clone())
}

/// A term's value, zero when absent (optional totals such as BT-107).
pub(super) fn or_zero(t: &Term<Decimal>) -> Decimal {
    t.as_ref().map_or(Decimal::ZERO, |a| a.value)
}

/// Whether a text term is there and not blank.
pub(super) fn has(t: &Term<String>) -> bool {
    t.as_ref().is_some_and(|a| !a.value.trim().is_empty())
}

/// The path of a term, or `fallback` (where it should be) when absent.
pub(super) fn path_or<T>(t: &Option<At<T>>, fallback: &str) -> String {
    t.as_ref()
        .map_or_else(|| fallback.to_string(), |a| a.path.clone())
}

#[cfg(test)]
mod tests;
