//! Hybrid PDFs (Factur-X / ZUGFeRD): the embedded XML is the invoice, and
//! the page a person reads must say the same. A sample invoice gets CII XML
//! attached: XML that agrees passes; XML of another invoice (number, total
//! and IBAN changed, as a forged attachment would) sends it to review.

use apflow::read::{self, ReadOptions};
use pdf_extract::{Dictionary, Document, Object, Stream};

use crate::helpers::repo_path;

const SAMPLE: &str = "samples/invoices/01_nordlicht_RE-2026-00412.pdf";

/// Minimal CII (Factur-X basic) for sample invoice 01, with the given
/// number, total and IBAN.
fn cii(number: &str, total: &str, iban: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
  xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
  xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
  <rsm:ExchangedDocument>
    <ram:ID>{number}</ram:ID>
    <ram:TypeCode>380</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">20260305</udt:DateTimeString></ram:IssueDateTime>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    <ram:ApplicableHeaderTradeAgreement>
      <ram:SellerTradeParty>
        <ram:Name>Nordlicht Bürobedarf GmbH</ram:Name>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">DE273849154</ram:ID></ram:SpecifiedTaxRegistration>
      </ram:SellerTradeParty>
      <ram:BuyerOrderReferencedDocument><ram:IssuerAssignedID>PO-2026-0101</ram:IssuerAssignedID></ram:BuyerOrderReferencedDocument>
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeSettlement>
      <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
      <ram:SpecifiedTradeSettlementPaymentMeans>
        <ram:TypeCode>58</ram:TypeCode>
        <ram:PayeePartyCreditorFinancialAccount><ram:IBANID>{iban}</ram:IBANID></ram:PayeePartyCreditorFinancialAccount>
      </ram:SpecifiedTradeSettlementPaymentMeans>
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:TaxBasisTotalAmount>868.15</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="EUR">164.95</ram:TaxTotalAmount>
        <ram:GrandTotalAmount>{total}</ram:GrandTotalAmount>
        <ram:DuePayableAmount>{total}</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>"#
    )
}

/// The sample PDF with `xml` attached as `factur-x.xml`.
fn hybrid(xml: &str) -> Vec<u8> {
    attach_xml(&std::fs::read(repo_path(SAMPLE)).unwrap(), xml)
}

/// `pdf` with `xml` attached as `factur-x.xml` (embedded file in the
/// catalog's name tree and its /AF array, as Factur-X prescribes).
pub fn attach_xml(pdf: &[u8], xml: &str) -> Vec<u8> {
    let mut doc = Document::load_mem(pdf).unwrap();
    let name = |s: &str| Object::Name(s.as_bytes().to_vec());
    let mut file_dict = Dictionary::new();
    file_dict.set("Type", name("EmbeddedFile"));
    file_dict.set("Subtype", name("text/xml"));
    let file = doc.add_object(Stream::new(file_dict, xml.as_bytes().to_vec()));
    let mut ef = Dictionary::new();
    ef.set("F", Object::Reference(file));
    let mut spec = Dictionary::new();
    spec.set("Type", name("Filespec"));
    spec.set("F", Object::string_literal("factur-x.xml"));
    spec.set("UF", Object::string_literal("factur-x.xml"));
    spec.set("AFRelationship", name("Data"));
    spec.set("EF", Object::Dictionary(ef));
    let spec = doc.add_object(Object::Dictionary(spec));
    let mut tree = Dictionary::new();
    tree.set(
        "Names",
        Object::Array(vec![
            Object::string_literal("factur-x.xml"),
            Object::Reference(spec),
        ]),
    );
    let mut names = Dictionary::new();
    names.set("EmbeddedFiles", Object::Dictionary(tree));
    let catalog = doc.catalog_mut().unwrap();
    catalog.set("Names", Object::Dictionary(names));
    catalog.set("AF", Object::Array(vec![Object::Reference(spec)]));
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn read_and_validate(pdf: &[u8]) -> (apflow::domain::ExtractedInvoice, Vec<String>) {
    let doc = read::read(pdf, &ReadOptions::default()).unwrap();
    assert!(doc.einvoice.is_some(), "the XML is found");
    let inv = apflow::extract::extract(&doc);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 20).unwrap();
    let v = apflow::validate::validate(&inv, &[], today, 0.5);
    let codes = v
        .findings
        .iter()
        .map(|f| f.code.as_str().to_string())
        .collect();
    (inv, codes)
}

#[test]
fn xml_that_matches_the_page_passes() {
    let (inv, codes) = read_and_validate(&hybrid(&cii(
        "RE-2026-00412",
        "1033.10",
        "DE34200505501234567890",
    )));
    assert_eq!(inv.visible_disagreements, vec![]);
    assert!(
        !codes.contains(&"xml_visual_mismatch".to_string()),
        "{codes:?}"
    );
}

#[test]
fn xml_of_another_invoice_goes_to_review() {
    let (inv, codes) = read_and_validate(&hybrid(&cii(
        "RE-2026-00999",
        "4711.00",
        "DE02120300000000202051",
    )));
    let fields: Vec<&str> = inv.visible_disagreements.iter().map(|d| d.field).collect();
    assert_eq!(fields, ["invoice_number", "total_amount", "iban"]);
    assert_eq!(inv.visible_disagreements[1].visible, "1033.10");
    assert_eq!(
        codes.iter().filter(|c| *c == "xml_visual_mismatch").count(),
        3,
        "{codes:?}"
    );
    // The XML still decides the values; the page only raises the flag.
    assert_eq!(inv.total_amount.unwrap().value.to_string(), "4711.00");
}
