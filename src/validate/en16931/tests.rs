//! Each rule family against a valid invoice and a mutation of it that the
//! standard says breaks exactly that family's rule. The invoices are
//! written for these tests (`tests/fixtures/einvoice`).

use std::collections::BTreeSet;

use super::check;
use crate::domain::einvoice::{Profile, Severity};
use crate::read::einvoice::parse_model;

const CII: &str = include_str!("../../../tests/fixtures/einvoice/en16931-allowances.cii.xml");
const XRECHNUNG: &str =
    include_str!("../../../tests/fixtures/einvoice/xrechnung-credit-note.ubl.xml");

/// The rules (fatal and warning) an invoice breaks.
fn broken(xml: &str) -> BTreeSet<String> {
    let model = parse_model(xml.as_bytes()).expect("the test invoice parses");
    check(&model).into_iter().map(|v| v.rule).collect()
}

fn fatal(xml: &str) -> BTreeSet<String> {
    let model = parse_model(xml.as_bytes()).expect("the test invoice parses");
    check(&model)
        .into_iter()
        .filter(|v| v.severity == Severity::Fatal)
        .map(|v| v.rule)
        .collect()
}

fn set(rules: &[&str]) -> BTreeSet<String> {
    rules.iter().map(|r| r.to_string()).collect()
}

/// `xml` with `from` replaced by `to`, once; the mutation must apply.
fn mutate(xml: &str, from: &str, to: &str) -> String {
    assert_eq!(
        xml.matches(from).count(),
        1,
        "mutation target {from:?} must be unique"
    );
    xml.replacen(from, to, 1)
}

#[test]
fn valid_invoices_break_no_rule() {
    let model = parse_model(CII.as_bytes()).expect("parses");
    assert_eq!(model.profile, Profile::En16931);
    assert_eq!(broken(CII), set(&[]), "{:#?}", check(&model));
    let model = parse_model(XRECHNUNG.as_bytes()).expect("parses");
    assert_eq!(model.profile, Profile::XRechnung);
    assert_eq!(broken(XRECHNUNG), set(&[]), "{:#?}", check(&model));
}

#[test]
fn a_changed_line_amount_breaks_the_line_sum_and_its_category_sum() {
    let xml = mutate(
        CII,
        "<ram:LineTotalAmount>125.00</ram:LineTotalAmount>",
        "<ram:LineTotalAmount>126.00</ram:LineTotalAmount>",
    );
    assert_eq!(fatal(&xml), set(&["BR-CO-10", "BR-S-08"]));
}

#[test]
fn dropping_the_seller_vat_id_on_standard_rated_supplies_breaks_br_s_02_to_04() {
    let xml = mutate(
        CII,
        r#"<ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">DE136695976</ram:ID></ram:SpecifiedTaxRegistration>"#,
        "<ram:SpecifiedLegalOrganization><ram:ID>HRB 12345</ram:ID></ram:SpecifiedLegalOrganization>",
    );
    assert_eq!(fatal(&xml), set(&["BR-S-02", "BR-S-03", "BR-S-04"]));
}

#[test]
fn a_wrong_vat_category_taxable_amount_breaks_its_sum_and_its_tax() {
    let xml = mutate(
        CII,
        "<ram:BasisAmount>120.00</ram:BasisAmount>",
        "<ram:BasisAmount>130.00</ram:BasisAmount>",
    );
    assert_eq!(fatal(&xml), set(&["BR-CO-17", "BR-S-08", "BR-S-09"]));
}

#[test]
fn rounding_off_by_two_cents_breaks_the_exact_sums_but_not_the_rate_tolerance() {
    // The line sum is exact: two cents off break BR-CO-10, and BT-109,
    // computed from it, BR-CO-13.
    let xml = mutate(
        CII,
        "<ram:LineTotalAmount>145.48</ram:LineTotalAmount>",
        "<ram:LineTotalAmount>145.50</ram:LineTotalAmount>",
    );
    assert_eq!(fatal(&xml), set(&["BR-CO-10", "BR-CO-13"]));
    // A category's tax is allowed one currency unit either way (BR-CO-17
    // as the CEN artefacts test it): two cents off, totals moved along, is
    // valid; one and a half units off is not.
    let shifted = |tax: &str, total: &str, grand: &str| {
        let xml = mutate(
            CII,
            "<ram:CalculatedAmount>1.43</ram:CalculatedAmount>",
            &format!("<ram:CalculatedAmount>{tax}</ram:CalculatedAmount>"),
        );
        let xml = mutate(
            &xml,
            r#"<ram:TaxTotalAmount currencyID="EUR">24.23</ram:TaxTotalAmount>"#,
            &format!(r#"<ram:TaxTotalAmount currencyID="EUR">{total}</ram:TaxTotalAmount>"#),
        );
        let xml = mutate(
            &xml,
            "<ram:GrandTotalAmount>164.71</ram:GrandTotalAmount>",
            &format!("<ram:GrandTotalAmount>{grand}</ram:GrandTotalAmount>"),
        );
        mutate(
            &xml,
            "<ram:DuePayableAmount>164.71</ram:DuePayableAmount>",
            &format!("<ram:DuePayableAmount>{grand}</ram:DuePayableAmount>"),
        )
    };
    assert_eq!(fatal(&shifted("1.45", "24.25", "164.73")), set(&[]));
    assert_eq!(
        fatal(&shifted("2.93", "25.73", "166.21")),
        set(&["BR-CO-17", "BR-S-09"])
    );
}

#[test]
fn totals_that_do_not_add_up_break_the_calculation_rules() {
    let xml = mutate(
        CII,
        "<ram:DuePayableAmount>164.71</ram:DuePayableAmount>",
        "<ram:DuePayableAmount>174.71</ram:DuePayableAmount>",
    );
    assert_eq!(fatal(&xml), set(&["BR-CO-16"]));
    let xml = mutate(
        CII,
        "<ram:GrandTotalAmount>164.71</ram:GrandTotalAmount>",
        "<ram:GrandTotalAmount>174.71</ram:GrandTotalAmount>",
    );
    assert_eq!(fatal(&xml), set(&["BR-CO-15", "BR-CO-16"]));
    let xml = mutate(
        CII,
        r#"<ram:TaxTotalAmount currencyID="EUR">24.23</ram:TaxTotalAmount>"#,
        r#"<ram:TaxTotalAmount currencyID="EUR">25.23</ram:TaxTotalAmount>"#,
    );
    assert_eq!(fatal(&xml), set(&["BR-CO-14", "BR-CO-15"]));
    let xml = mutate(
        CII,
        "<ram:AllowanceTotalAmount>10.00</ram:AllowanceTotalAmount>",
        "<ram:AllowanceTotalAmount>11.00</ram:AllowanceTotalAmount>",
    );
    assert_eq!(fatal(&xml), set(&["BR-CO-11", "BR-CO-13"]));
    let xml = mutate(
        CII,
        "<ram:ChargeTotalAmount>5.00</ram:ChargeTotalAmount>",
        "",
    );
    assert_eq!(fatal(&xml), set(&["BR-CO-12", "BR-CO-13"]));
}

#[test]
fn three_decimals_on_an_amount_break_br_dec() {
    let xml = mutate(
        CII,
        "<ram:TaxBasisTotalAmount>140.48</ram:TaxBasisTotalAmount>",
        "<ram:TaxBasisTotalAmount>140.480</ram:TaxBasisTotalAmount>",
    );
    assert_eq!(fatal(&xml), set(&["BR-DEC-12"]));
}

#[test]
fn missing_core_terms_break_their_rules() {
    let xml = mutate(CII, "<ram:ID>RE-2026-0815</ram:ID>", "");
    assert_eq!(fatal(&xml), set(&["BR-02"]));
    let xml = mutate(CII, "<ram:Reason>Loyalty discount</ram:Reason>", "");
    assert_eq!(fatal(&xml), set(&["BR-33", "BR-CO-21"]));
    let xml = mutate(
        CII,
        "<ram:ChargeAmount>12.50</ram:ChargeAmount>",
        "<ram:ChargeAmount>-12.50</ram:ChargeAmount>",
    );
    assert_eq!(fatal(&xml), set(&["BR-27"]));
    let xml = mutate(
        CII,
        "<ram:Description>Payable within 30 days net.</ram:Description>",
        "",
    );
    let xml = mutate(
        &xml,
        r#"<ram:DueDateDateTime><udt:DateTimeString format="102">20261202</udt:DateTimeString></ram:DueDateDateTime>"#,
        "",
    );
    assert_eq!(fatal(&xml), set(&["BR-CO-25"]));
    let xml = mutate(CII, "<ram:IBANID>DE02120300000000202051</ram:IBANID>", "");
    assert_eq!(
        fatal(&xml),
        set(&["BR-50", "BR-61"]),
        "an empty account group"
    );
    let xml = mutate(
        CII,
        "<ram:PayeePartyCreditorFinancialAccount><ram:IBANID>DE02120300000000202051</ram:IBANID></ram:PayeePartyCreditorFinancialAccount>",
        "",
    );
    assert_eq!(fatal(&xml), set(&["BR-61"]), "no account group");
    let xml = mutate(
        CII,
        r#"<ram:DateTimeString format="102">20261102</ram:DateTimeString>"#
            .replace("ram:", "udt:")
            .as_str(),
        r#"<udt:DateTimeString format="102">2026-11-02</udt:DateTimeString>"#,
    );
    assert!(fatal(&xml).is_empty(), "an ISO date is read too");
    let xml = mutate(
        CII,
        "<ram:GrandTotalAmount>164.71</ram:GrandTotalAmount>",
        "<ram:GrandTotalAmount>164,71</ram:GrandTotalAmount>",
    );
    assert!(
        fatal(&xml).contains("SYNTAX"),
        "an unreadable amount is not a missing one"
    );
}

#[test]
fn reverse_charge_needs_the_buyers_vat_id_and_a_zero_tax() {
    // The 7% line becomes a reverse-charge supply with its own breakdown.
    let reason = "<ram:ExemptionReason>Reverse charge</ram:ExemptionReason>";
    assert_eq!(
        fatal(&recategorised("AE", reason, false)),
        set(&["BR-AE-02"]),
        "the buyer has no VAT id"
    );
    let with_buyer_vat = recategorised("AE", reason, true);
    assert_eq!(fatal(&with_buyer_vat), set(&[]));
    let taxed = mutate(
        &with_buyer_vat,
        "<ram:CalculatedAmount>0.00</ram:CalculatedAmount>",
        "<ram:CalculatedAmount>1.43</ram:CalculatedAmount>",
    );
    assert!(fatal(&taxed).contains("BR-AE-09"));
    assert_eq!(fatal(&recategorised("AE", "", true)), set(&["BR-AE-10"]));
}

#[test]
fn xrechnung_rules_apply_only_to_xrechnung() {
    let xml = mutate(
        XRECHNUNG,
        "<cbc:BuyerReference>04011000-12345-34</cbc:BuyerReference>",
        "",
    );
    assert_eq!(fatal(&xml), set(&["BR-DE-15"]));
    let xml = mutate(
        XRECHNUNG,
        "<cbc:ElectronicMail>buchhaltung@schraubenhandel-nord.example</cbc:ElectronicMail>",
        "",
    );
    assert_eq!(fatal(&xml), set(&["BR-DE-7"]));
    let xml = mutate(
        XRECHNUNG,
        "<cbc:Note>The amount is credited to your account within 14 days.</cbc:Note>",
        "<cbc:Note>#SKONTO#TAGE=14#PROZENT=2#</cbc:Note>",
    );
    assert_eq!(fatal(&xml), set(&["BR-DE-18"]));
    // The same gaps in a plain EN 16931 invoice are no violation.
    let plain = mutate(
        XRECHNUNG,
        "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
        "urn:cen.eu:en16931:2017",
    );
    let plain = mutate(
        &plain,
        "<cbc:BuyerReference>04011000-12345-34</cbc:BuyerReference>",
        "",
    );
    assert_eq!(broken(&plain), set(&[]));
}

#[test]
fn a_credit_note_keeps_its_amounts_and_reference() {
    let model = parse_model(XRECHNUNG.as_bytes()).expect("parses");
    assert_eq!(
        model.type_code.as_ref().map(|t| t.value.as_str()),
        Some("381")
    );
    assert_eq!(model.preceding_invoices.len(), 1);
    assert_eq!(model.lines.len(), 1);
    let path = &model.totals.grand_total.as_ref().expect("BT-112").path;
    assert_eq!(
        path,
        "/CreditNote/cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount"
    );
}

/// The valid invoice with its 7% line turned into VAT category `code` at
/// 0% (its own breakdown, no tax, totals moved along), `extra` added to
/// that breakdown (an exemption reason) and `buyer_vat` given the buyer.
fn recategorised(code: &str, extra: &str, buyer_vat: bool) -> String {
    let xml = mutate(
        CII,
        "<ram:CategoryCode>S</ram:CategoryCode><ram:RateApplicablePercent>7.00</ram:RateApplicablePercent></ram:ApplicableTradeTax>\n        <ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>20.48",
        &format!(
            "<ram:CategoryCode>{code}</ram:CategoryCode><ram:RateApplicablePercent>0</ram:RateApplicablePercent></ram:ApplicableTradeTax>\n        <ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>20.48"
        ),
    );
    let xml = mutate(
        &xml,
        "<ram:CalculatedAmount>1.43</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode><ram:BasisAmount>20.48</ram:BasisAmount><ram:CategoryCode>S</ram:CategoryCode><ram:RateApplicablePercent>7.00</ram:RateApplicablePercent>",
        &format!(
            "<ram:CalculatedAmount>0.00</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode>{extra}<ram:BasisAmount>20.48</ram:BasisAmount><ram:CategoryCode>{code}</ram:CategoryCode><ram:RateApplicablePercent>0</ram:RateApplicablePercent>"
        ),
    );
    let xml = mutate(
        &xml,
        r#"<ram:TaxTotalAmount currencyID="EUR">24.23</ram:TaxTotalAmount>"#,
        r#"<ram:TaxTotalAmount currencyID="EUR">22.80</ram:TaxTotalAmount>"#,
    );
    let xml = mutate(
        &xml,
        "<ram:GrandTotalAmount>164.71</ram:GrandTotalAmount>",
        "<ram:GrandTotalAmount>163.28</ram:GrandTotalAmount>",
    );
    let xml = mutate(
        &xml,
        "<ram:DuePayableAmount>164.71</ram:DuePayableAmount>",
        "<ram:DuePayableAmount>163.28</ram:DuePayableAmount>",
    );
    if buyer_vat {
        mutate(
            &xml,
            "<ram:Name>Tischlerei Berg KG</ram:Name>",
            r#"<ram:Name>Tischlerei Berg KG</ram:Name><ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">ATU13585627</ram:ID></ram:SpecifiedTaxRegistration>"#,
        )
    } else {
        xml
    }
}

const EXEMPT: &str = "<ram:ExemptionReason>Exempt under Art. 132</ram:ExemptionReason>";

#[test]
fn each_vat_category_family_has_its_rules() {
    // Zero rated: valid as is; tax on it breaks BR-Z-09, an exemption
    // reason BR-Z-10.
    assert_eq!(fatal(&recategorised("Z", "", false)), set(&[]));
    let taxed = mutate(
        &recategorised("Z", "", false),
        "<ram:CalculatedAmount>0.00</ram:CalculatedAmount>",
        "<ram:CalculatedAmount>0.50</ram:CalculatedAmount>",
    );
    assert!(fatal(&taxed).contains("BR-Z-09"), "{:?}", fatal(&taxed));
    assert_eq!(fatal(&recategorised("Z", EXEMPT, false)), set(&["BR-Z-10"]));
    // Exempt: needs its reason (BR-E-10).
    assert_eq!(fatal(&recategorised("E", EXEMPT, false)), set(&[]));
    assert_eq!(fatal(&recategorised("E", "", false)), set(&["BR-E-10"]));
    // Intra-community supply: the buyer's VAT id (BR-IC-02) and where it
    // went (BR-IC-12; the delivery date is there).
    assert_eq!(fatal(&recategorised("K", EXEMPT, true)), set(&["BR-IC-12"]));
    assert_eq!(
        fatal(&recategorised("K", EXEMPT, false)),
        set(&["BR-IC-02", "BR-IC-12"])
    );
    let delivered = mutate(
        &recategorised("K", EXEMPT, true),
        "<ram:ApplicableHeaderTradeDelivery>",
        "<ram:ApplicableHeaderTradeDelivery><ram:ShipToTradeParty><ram:PostalTradeAddress><ram:CountryID>AT</ram:CountryID></ram:PostalTradeAddress></ram:ShipToTradeParty>",
    );
    assert_eq!(fatal(&delivered), set(&[]));
    // Export: valid with a reason, BR-G-10 without.
    assert_eq!(fatal(&recategorised("G", EXEMPT, false)), set(&[]));
    assert_eq!(fatal(&recategorised("G", "", false)), set(&["BR-G-10"]));
    // Not subject to VAT cannot sit beside other categories (BR-O-11 to
    // 14), nor on an invoice with the seller's VAT id (BR-O-02 to 04), and
    // has no rate (BR-O-05).
    let o = fatal(&recategorised("O", EXEMPT, false));
    for rule in [
        "BR-O-02", "BR-O-05", "BR-O-11", "BR-O-12", "BR-O-13", "BR-O-14",
    ] {
        assert!(o.contains(rule), "{rule} missing from {o:?}");
    }
    // Standard rate at 0% breaks BR-S-05.
    let zero = mutate(
        CII,
        "<ram:RateApplicablePercent>7.00</ram:RateApplicablePercent></ram:ApplicableTradeTax>\n        <ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>20.48",
        "<ram:RateApplicablePercent>0</ram:RateApplicablePercent></ram:ApplicableTradeTax>\n        <ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>20.48",
    );
    assert!(fatal(&zero).contains("BR-S-05"), "{:?}", fatal(&zero));
}

#[test]
fn amounts_beyond_any_invoice_are_refused_not_overflowed() {
    // Decimal's largest value: multiplied by a rate or summed it would
    // overflow (a panic) in the rules, matching or payment.
    let huge = "79228162514264337593543950335";
    let xml = mutate(
        CII,
        "<ram:BasisAmount>120.00</ram:BasisAmount>",
        &format!("<ram:BasisAmount>{huge}</ram:BasisAmount>"),
    );
    let xml = mutate(
        &xml,
        "<ram:LineTotalAmount>125.00</ram:LineTotalAmount>",
        &format!("<ram:LineTotalAmount>{huge}</ram:LineTotalAmount>"),
    );
    let xml = mutate(
        &xml,
        "<ram:RateApplicablePercent>19.00</ram:RateApplicablePercent></ram:ApplicableTradeTax>\n        <ram:SpecifiedTradeSettlementLineMonetarySummation>",
        &format!(
            "<ram:RateApplicablePercent>{huge}</ram:RateApplicablePercent></ram:ApplicableTradeTax>\n        <ram:SpecifiedTradeSettlementLineMonetarySummation>"
        ),
    );
    let found = fatal(&xml);
    assert!(found.contains("SYNTAX"), "{found:?}");
    let model = parse_model(xml.as_bytes()).expect("parses");
    assert_eq!(model.unreadable.len(), 3);
    assert!(model.unreadable.iter().all(|u| u.value == huge));
}

#[test]
fn an_invoice_keeps_its_first_violations_and_how_many_more() {
    let v = |i: usize, severity| crate::domain::einvoice::RuleViolation {
        rule: "BR-25".into(),
        severity,
        message: format!("line {i}"),
        path: format!("/line[{i}]"),
    };
    let few: Vec<_> = (0..3).map(|i| v(i, Severity::Fatal)).collect();
    assert_eq!(super::to_keep(few.clone()), few);
    let mut many: Vec<_> = (0..5000).map(|i| v(i, Severity::Warning)).collect();
    many.push(v(5000, Severity::Fatal));
    let kept = super::to_keep(many);
    assert_eq!(kept.len(), super::KEPT_PER_INVOICE + 1);
    let last = kept.last().expect("the summary");
    assert_eq!(
        (last.rule.as_str(), last.severity),
        ("MORE", Severity::Fatal)
    );
    assert!(last.message.contains("4801 more"), "{}", last.message);
}
