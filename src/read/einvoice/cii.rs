//! UN/CEFACT CII D16B (Factur-X, ZUGFeRD 2.x, XRechnung CII) and
//! ZUGFeRD 1.0 into the EN 16931 model, following the standard's CII
//! binding (EN 16931-3-3).

use roxmltree::Node;

use super::nav::{Reader, all, child, tax_amounts};
use crate::domain::einvoice::{
    Address, AllowanceCharge, Contact, Delivery, DiscountTerm, EInvoice, InvoiceLine, Party,
    PaymentMeans, Period, PrecedingInvoice, Profile, Syntax, Term, Totals, VatBreakdown,
};

/// Element names that differ between CII D16B and ZUGFeRD 1.0; the business
/// terms below them are named alike.
pub(super) struct CiiNames {
    syntax: Syntax,
    context: &'static str,
    document: &'static str,
    transaction: &'static str,
    agreement: &'static str,
    delivery: &'static str,
    settlement: &'static str,
    summation: &'static str,
    order_id: &'static str,
    line_agreement: &'static str,
    line_delivery: &'static str,
    line_settlement: &'static str,
    line_summation: &'static str,
    rate: &'static str,
}

pub(super) const CII_D16B: CiiNames = CiiNames {
    syntax: Syntax::Cii,
    context: "ExchangedDocumentContext",
    document: "ExchangedDocument",
    transaction: "SupplyChainTradeTransaction",
    agreement: "ApplicableHeaderTradeAgreement",
    delivery: "ApplicableHeaderTradeDelivery",
    settlement: "ApplicableHeaderTradeSettlement",
    summation: "SpecifiedTradeSettlementHeaderMonetarySummation",
    order_id: "IssuerAssignedID",
    line_agreement: "SpecifiedLineTradeAgreement",
    line_delivery: "SpecifiedLineTradeDelivery",
    line_settlement: "SpecifiedLineTradeSettlement",
    line_summation: "SpecifiedTradeSettlementLineMonetarySummation",
    rate: "RateApplicablePercent",
};

pub(super) const ZUGFERD_1: CiiNames = CiiNames {
    syntax: Syntax::Zugferd1,
    context: "SpecifiedExchangedDocumentContext",
    document: "HeaderExchangedDocument",
    transaction: "SpecifiedSupplyChainTradeTransaction",
    agreement: "ApplicableSupplyChainTradeAgreement",
    delivery: "ApplicableSupplyChainTradeDelivery",
    settlement: "ApplicableSupplyChainTradeSettlement",
    summation: "SpecifiedTradeSettlementMonetarySummation",
    order_id: "ID",
    line_agreement: "SpecifiedSupplyChainTradeAgreement",
    line_delivery: "SpecifiedSupplyChainTradeDelivery",
    line_settlement: "SpecifiedSupplyChainTradeSettlement",
    line_summation: "SpecifiedTradeSettlementMonetarySummation",
    rate: "ApplicablePercent",
};

pub(super) fn read(root: Node<'_, '_>, names: &CiiNames) -> EInvoice {
    let mut r = Reader::new(root);
    let root_path = r.path_of(root);
    let root = Some(root);
    let context = child(root, &[names.context]);
    let document = child(root, &[names.document]);
    let transaction = child(root, &[names.transaction]);
    let agreement = child(transaction, &[names.agreement]);
    let delivery = child(transaction, &[names.delivery]);
    let settlement = child(transaction, &[names.settlement]);
    let summation = child(settlement, &[names.summation]);
    let terms = all(settlement, &["SpecifiedTradePaymentTerms"]);
    let specification = r.text(
        context,
        &["GuidelineSpecifiedDocumentContextParameter", "ID"],
    );
    let currency = r.text(settlement, &["InvoiceCurrencyCode"]);
    let tax_currency = r.text(settlement, &["TaxCurrencyCode"]);

    // An amount without a currency counts as the invoice currency's.
    let (tax_total_node, tax_accounting_node) = tax_amounts(
        &all(summation, &["TaxTotalAmount"]),
        currency.as_ref(),
        tax_currency.as_ref(),
        true,
    );

    let totals = Totals {
        path: r.path_below(summation, &root_path, &[]),
        line_total: r.amount(summation, &["LineTotalAmount"]),
        allowance_total: r.amount(summation, &["AllowanceTotalAmount"]),
        charge_total: r.amount(summation, &["ChargeTotalAmount"]),
        tax_exclusive: r.amount(summation, &["TaxBasisTotalAmount"]),
        tax_total: tax_total_node.and_then(|n| r.amount_of(n)),
        tax_total_accounting: tax_accounting_node.and_then(|n| r.amount_of(n)),
        grand_total: r.amount(summation, &["GrandTotalAmount"]),
        prepaid: r.amount(summation, &["TotalPrepaidAmount"]),
        rounding: r.amount(summation, &["RoundingAmount"]),
        due_payable: r.amount(summation, &["DuePayableAmount"]),
    };

    let (allowances, charges) = allowances_and_charges(&mut r, settlement, names, true);
    let payment_means = all(settlement, &["SpecifiedTradeSettlementPaymentMeans"])
        .into_iter()
        .map(|m| payment_means(&mut r, m))
        .collect();
    let vat_breakdown = all(settlement, &["ApplicableTradeTax"])
        .into_iter()
        .map(|t| VatBreakdown {
            path: r.path_of(t),
            taxable: r.amount(Some(t), &["BasisAmount"]),
            tax: r.amount(Some(t), &["CalculatedAmount"]),
            category: r.text(Some(t), &["CategoryCode"]),
            rate: r.amount(Some(t), &[names.rate]),
            exemption_reason: r.text(Some(t), &["ExemptionReason"]),
            exemption_code: r.text(Some(t), &["ExemptionReasonCode"]),
        })
        .collect();
    let lines = all(transaction, &["IncludedSupplyChainTradeLineItem"])
        .into_iter()
        .map(|l| line(&mut r, l, names))
        .collect();
    let ship_to = child(delivery, &["ShipToTradeParty"]);

    EInvoice {
        syntax: names.syntax,
        profile: Profile::of(
            specification.as_ref().map(|s| s.value.as_str()),
            names.syntax,
        ),
        specification,
        number: r.text(document, &["ID"]),
        issue_date: r.date(document, &["IssueDateTime"]),
        type_code: r.text(document, &["TypeCode"]),
        currency,
        tax_currency,
        tax_point_date: all(settlement, &["ApplicableTradeTax"])
            .into_iter()
            .find_map(|t| r.date(Some(t), &["TaxPointDate"])),
        tax_point_code: all(settlement, &["ApplicableTradeTax"])
            .into_iter()
            .find_map(|t| r.text(Some(t), &["DueDateTypeCode"])),
        due_date: terms
            .iter()
            .find_map(|t| r.date(Some(*t), &["DueDateDateTime"])),
        buyer_reference: r.text(agreement, &["BuyerReference"]),
        project_reference: r.text(agreement, &["SpecifiedProcuringProject", "ID"]),
        contract_reference: r.text(
            agreement,
            &["ContractReferencedDocument", "IssuerAssignedID"],
        ),
        order_reference: r.text(agreement, &["BuyerOrderReferencedDocument", names.order_id]),
        invoiced_object: object_reference(&mut r, agreement),
        payment_terms: terms
            .iter()
            .flat_map(|t| r.texts(Some(*t), &["Description"]))
            .collect(),
        discount_terms: terms
            .iter()
            .flat_map(|t| all(Some(*t), &["ApplicableTradePaymentDiscountTerms"]))
            .filter_map(|d| {
                Some(DiscountTerm {
                    path: r.path_of(d),
                    days: r.amount(Some(d), &["BasisPeriodMeasure"])?.value,
                    percent: r.amount(Some(d), &["CalculationPercent"])?.value,
                    base: r.amount(Some(d), &["BasisAmount"]).map(|b| b.value),
                })
            })
            .collect(),
        notes: r.texts(document, &["IncludedNote", "Content"]),
        preceding_invoices: all(settlement, &["InvoiceReferencedDocument"])
            .into_iter()
            .map(|d| PrecedingInvoice {
                path: r.path_of(d),
                number: r.text(Some(d), &["IssuerAssignedID"]),
                issue_date: r.date(Some(d), &["FormattedIssueDateTime"]),
            })
            .collect(),
        seller: party(&mut r, agreement, "SellerTradeParty", &root_path),
        buyer: party(&mut r, agreement, "BuyerTradeParty", &root_path),
        payee: child(settlement, &["PayeeTradeParty"])
            .map(|_| party(&mut r, settlement, "PayeeTradeParty", &root_path)),
        tax_representative: child(agreement, &["SellerTaxRepresentativeTradeParty"]).map(|_| {
            party(
                &mut r,
                agreement,
                "SellerTaxRepresentativeTradeParty",
                &root_path,
            )
        }),
        delivery: Delivery {
            party_name: r.text(ship_to, &["Name"]),
            date: r.date(
                delivery,
                &["ActualDeliverySupplyChainEvent", "OccurrenceDateTime"],
            ),
            address: child(ship_to, &["PostalTradeAddress"]).map(|a| address(&mut r, a)),
        },
        invoicing_period: child(settlement, &["BillingSpecifiedPeriod"]).map(|p| period(&mut r, p)),
        payment_means,
        creditor_id: r.text(settlement, &["CreditorReferenceID"]),
        mandate: terms
            .iter()
            .find_map(|t| r.text(Some(*t), &["DirectDebitMandateID"])),
        allowances,
        charges,
        totals,
        vat_breakdown,
        lines,
        unreadable: std::mem::take(&mut r.unreadable),
        root: root_path,
    }
}

fn party(r: &mut Reader, parent: Option<Node<'_, '_>>, name: &str, root: &str) -> Party {
    let p = child(parent, &[name]);
    let Some(node) = p else {
        return Party {
            path: r.path_below(parent, root, &[name]),
            ..Party::default()
        };
    };
    let registrations = all(p, &["SpecifiedTaxRegistration", "ID"]);
    let scheme = |scheme: &str| {
        registrations
            .iter()
            .copied()
            .filter(|n| n.attribute("schemeID").is_some_and(|s| s.trim() == scheme))
            .find_map(|n| r.ident_of(n))
    };
    // BT-31 is the registration with scheme "VA"; "FC" is BT-32.
    let (vat_id, tax_registration) = (scheme("VA"), scheme("FC"));
    Party {
        path: r.path_of(node),
        name: r.text(p, &["Name"]),
        trading_name: r.text(p, &["SpecifiedLegalOrganization", "TradingBusinessName"]),
        identifiers: r
            .texts(p, &["ID"])
            .into_iter()
            .chain(r.texts(p, &["GlobalID"]))
            .collect(),
        legal_id: r.text(p, &["SpecifiedLegalOrganization", "ID"]),
        vat_id,
        tax_registration,
        electronic_address: r.text(p, &["URIUniversalCommunication", "URIID"]),
        electronic_address_scheme: r.attribute(
            p,
            &["URIUniversalCommunication", "URIID"],
            "schemeID",
        ),
        address: child(p, &["PostalTradeAddress"]).map(|a| address(r, a)),
        contact: child(p, &["DefinedTradeContact"]).map(|c| Contact {
            path: r.path_of(c),
            name: r
                .text(Some(c), &["PersonName"])
                .or_else(|| r.text(Some(c), &["DepartmentName"])),
            phone: r.text(
                Some(c),
                &["TelephoneUniversalCommunication", "CompleteNumber"],
            ),
            email: r.text(Some(c), &["EmailURIUniversalCommunication", "URIID"]),
        }),
    }
}

/// BT-18 / BT-128: the `AdditionalReferencedDocument` with type code 130.
fn object_reference(r: &mut Reader, parent: Option<Node<'_, '_>>) -> Term<String> {
    r.text_where(
        parent,
        &["AdditionalReferencedDocument"],
        ("TypeCode", "130"),
        "IssuerAssignedID",
    )
}

fn address(r: &mut Reader, a: Node<'_, '_>) -> Address {
    let a = Some(a);
    Address {
        path: a.map(|n| r.path_of(n)).unwrap_or_default(),
        line_one: r.text(a, &["LineOne"]),
        city: r.text(a, &["CityName"]),
        post_code: r.text(a, &["PostcodeCode"]),
        subdivision: r.text(a, &["CountrySubDivisionName"]),
        country: r.text(a, &["CountryID"]),
    }
}

fn period(r: &mut Reader, p: Node<'_, '_>) -> Period {
    r.period(p, "StartDateTime", "EndDateTime")
}

fn payment_means(r: &mut Reader, m: Node<'_, '_>) -> PaymentMeans {
    let means = Some(m);
    PaymentMeans {
        path: r.path_of(m),
        code: r.text(means, &["TypeCode"]),
        text: r.text(means, &["Information"]),
        remittance: None,
        accounts: all(means, &["PayeePartyCreditorFinancialAccount"])
            .into_iter()
            .filter_map(|a| {
                child(Some(a), &["IBANID"])
                    .or_else(|| child(Some(a), &["ProprietaryID"]))
                    .and_then(|n| r.ident_of(n))
            })
            .collect(),
        has_account_group: child(means, &["PayeePartyCreditorFinancialAccount"]).is_some(),
        bic: r.identifier(
            means,
            &["PayeeSpecifiedCreditorFinancialInstitution", "BICID"],
        ),
        card_number: r.text(means, &["ApplicableTradeSettlementFinancialCard", "ID"]),
        debited_account: r.identifier(means, &["PayerPartyDebtorFinancialAccount", "IBANID"]),
    }
}

/// Allowances and charges below `parent`: `SpecifiedTradeAllowanceCharge`
/// with `ChargeIndicator/Indicator` false or true. Document level ones
/// carry a VAT category and rate.
fn allowances_and_charges(
    r: &mut Reader,
    parent: Option<Node<'_, '_>>,
    names: &CiiNames,
    document_level: bool,
) -> (Vec<AllowanceCharge>, Vec<AllowanceCharge>) {
    let mut allowances = Vec::new();
    let mut charges = Vec::new();
    for n in all(parent, &["SpecifiedTradeAllowanceCharge"]) {
        let node = Some(n);
        let is_charge = r
            .text(node, &["ChargeIndicator", "Indicator"])
            .is_some_and(|i| i.value.eq_ignore_ascii_case("true") || i.value == "1");
        let tax = child(node, &["CategoryTradeTax"]);
        let item = AllowanceCharge {
            path: r.path_of(n),
            amount: r.amount(node, &["ActualAmount"]),
            base: r.amount(node, &["BasisAmount"]),
            percent: r.amount(node, &["CalculationPercent"]),
            vat_category: if document_level {
                r.text(tax, &["CategoryCode"])
            } else {
                None
            },
            vat_rate: if document_level {
                r.amount(tax, &[names.rate])
            } else {
                None
            },
            reason: r.text(node, &["Reason"]),
            reason_code: r.text(node, &["ReasonCode"]),
        };
        if is_charge {
            charges.push(item);
        } else {
            allowances.push(item);
        }
    }
    // EXTENDED's logistics service charges (freight, packing) count as
    // document level charges in BT-108.
    if document_level {
        for n in all(parent, &["SpecifiedLogisticsServiceCharge"]) {
            let node = Some(n);
            let tax = child(node, &["AppliedTradeTax"]);
            charges.push(AllowanceCharge {
                path: r.path_of(n),
                amount: r.amount(node, &["AppliedAmount"]),
                base: None,
                percent: None,
                vat_category: r.text(tax, &["CategoryCode"]),
                vat_rate: r.amount(tax, &[names.rate]),
                reason: r.text(node, &["Description"]),
                reason_code: None,
            });
        }
    }
    (allowances, charges)
}

fn line(r: &mut Reader, l: Node<'_, '_>, names: &CiiNames) -> InvoiceLine {
    let line = Some(l);
    let product = child(line, &["SpecifiedTradeProduct"]);
    let agreement = child(line, &[names.line_agreement]);
    let net = child(agreement, &["NetPriceProductTradePrice"]);
    let gross = child(agreement, &["GrossPriceProductTradePrice"]);
    let settlement = child(line, &[names.line_settlement]);
    let tax = child(settlement, &["ApplicableTradeTax"]);
    let (allowances, charges) = allowances_and_charges(r, settlement, names, false);
    InvoiceLine {
        path: r.path_of(l),
        id: r.text(line, &["AssociatedDocumentLineDocument", "LineID"]),
        quantity: r.amount(line, &[names.line_delivery, "BilledQuantity"]),
        unit: r.attribute(line, &[names.line_delivery, "BilledQuantity"], "unitCode"),
        net_amount: r.amount(settlement, &[names.line_summation, "LineTotalAmount"]),
        object_id: object_reference(r, settlement),
        order_line: r.text(agreement, &["BuyerOrderReferencedDocument", "LineID"]),
        period: child(settlement, &["BillingSpecifiedPeriod"]).map(|p| period(r, p)),
        allowances,
        charges,
        net_price: r.amount(net, &["ChargeAmount"]),
        price_discount: r.amount(gross, &["AppliedTradeAllowanceCharge", "ActualAmount"]),
        gross_price: r.amount(gross, &["ChargeAmount"]),
        base_quantity: r.amount(net, &["BasisQuantity"]),
        vat_category: r.text(tax, &["CategoryCode"]),
        vat_rate: r.amount(tax, &[names.rate]),
        name: r.text(product, &["Name"]),
        description: r.text(product, &["Description"]),
        seller_item_id: r.text(product, &["SellerAssignedID"]),
    }
}
