//! UBL 2.1 Invoice and CreditNote (XRechnung UBL, Peppol BIS Billing 3.0)
//! into the EN 16931 model, following the standard's UBL binding
//! (EN 16931-3-2).

use roxmltree::Node;

use super::nav::{Reader, all, child, tax_amounts};
use crate::domain::einvoice::{
    Address, AllowanceCharge, At, Contact, Delivery, EInvoice, InvoiceLine, Party, PaymentMeans,
    Period, PrecedingInvoice, Profile, Syntax, Totals, VatBreakdown,
};

pub(super) fn read(root: Node<'_, '_>, syntax: Syntax) -> EInvoice {
    let (line_name, quantity_name, type_name) = match syntax {
        Syntax::UblCreditNote => ("CreditNoteLine", "CreditedQuantity", "CreditNoteTypeCode"),
        _ => ("InvoiceLine", "InvoicedQuantity", "InvoiceTypeCode"),
    };
    let mut r = Reader::new(root);
    let root_path = r.path_of(root);
    let root = Some(root);
    let totals_node = child(root, &["LegalMonetaryTotal"]);
    let specification = r.text(root, &["CustomizationID"]);
    let currency = r.text(root, &["DocumentCurrencyCode"]);
    let tax_currency = r.text(root, &["TaxCurrencyCode"]);
    let (tax_total_node, tax_accounting_node) = tax_amounts(
        &all(root, &["TaxTotal", "TaxAmount"]),
        currency.as_ref(),
        tax_currency.as_ref(),
        false,
    );
    // The VAT breakdown is the subtotals of the tax total in the invoice
    // currency (the one in the accounting currency has none).
    let breakdown_parent = tax_total_node.and_then(|n| n.parent());

    let totals = Totals {
        path: r.path_below(totals_node, &root_path, &[]),
        line_total: r.amount(totals_node, &["LineExtensionAmount"]),
        allowance_total: r.amount(totals_node, &["AllowanceTotalAmount"]),
        charge_total: r.amount(totals_node, &["ChargeTotalAmount"]),
        tax_exclusive: r.amount(totals_node, &["TaxExclusiveAmount"]),
        tax_total: tax_total_node.and_then(|n| r.amount_of(n)),
        tax_total_accounting: tax_accounting_node.and_then(|n| r.amount_of(n)),
        grand_total: r.amount(totals_node, &["TaxInclusiveAmount"]),
        prepaid: r.amount(totals_node, &["PrepaidAmount"]),
        rounding: r.amount(totals_node, &["PayableRoundingAmount"]),
        due_payable: r.amount(totals_node, &["PayableAmount"]),
    };
    let (allowances, charges) = allowances_and_charges(&mut r, root, true);
    let payment_means: Vec<PaymentMeans> = all(root, &["PaymentMeans"])
        .into_iter()
        .map(|m| payment_means(&mut r, m))
        .collect();
    let vat_breakdown = all(breakdown_parent, &["TaxSubtotal"])
        .into_iter()
        .map(|t| {
            let category = child(Some(t), &["TaxCategory"]);
            VatBreakdown {
                path: r.path_of(t),
                taxable: r.amount(Some(t), &["TaxableAmount"]),
                tax: r.amount(Some(t), &["TaxAmount"]),
                category: r.text(category, &["ID"]),
                rate: r.amount(category, &["Percent"]),
                exemption_reason: r.text(category, &["TaxExemptionReason"]),
                exemption_code: r.text(category, &["TaxExemptionReasonCode"]),
            }
        })
        .collect();
    let lines = all(root, &[line_name])
        .into_iter()
        .map(|l| line(&mut r, l, quantity_name))
        .collect();
    let delivery = child(root, &["Delivery"]);
    let supplier = child(root, &["AccountingSupplierParty", "Party"]);
    let payee = child(root, &["PayeeParty"]);
    // BT-90: the SEPA creditor id is a party identifier with scheme "SEPA",
    // of the payee where there is one, else of the seller.
    let creditor_id = [payee, supplier]
        .into_iter()
        .flat_map(|p| all(p, &["PartyIdentification", "ID"]))
        .filter(|n| n.attribute("schemeID").is_some_and(|s| s.trim() == "SEPA"))
        .find_map(|n| r.ident_of(n));

    EInvoice {
        syntax,
        profile: Profile::of(specification.as_ref().map(|s| s.value.as_str()), syntax),
        specification,
        number: r.text(root, &["ID"]),
        issue_date: r.date(root, &["IssueDate"]),
        type_code: r.text(root, &[type_name]),
        currency,
        tax_currency,
        tax_point_date: r.date(root, &["TaxPointDate"]),
        tax_point_code: r.text(root, &["InvoicePeriod", "DescriptionCode"]),
        due_date: r.date(root, &["DueDate"]).or_else(|| {
            all(root, &["PaymentMeans"])
                .into_iter()
                .find_map(|m| r.date(Some(m), &["PaymentDueDate"]))
        }),
        buyer_reference: r.text(root, &["BuyerReference"]),
        project_reference: r.text(root, &["ProjectReference", "ID"]),
        contract_reference: r.text(root, &["ContractDocumentReference", "ID"]),
        order_reference: r.text(root, &["OrderReference", "ID"]),
        invoiced_object: object_reference(&mut r, root, "AdditionalDocumentReference"),
        payment_terms: r.texts(root, &["PaymentTerms", "Note"]),
        discount_terms: Vec::new(),
        notes: r.texts(root, &["Note"]),
        preceding_invoices: all(root, &["BillingReference", "InvoiceDocumentReference"])
            .into_iter()
            .map(|d| PrecedingInvoice {
                path: r.path_of(d),
                number: r.text(Some(d), &["ID"]),
                issue_date: r.date(Some(d), &["IssueDate"]),
            })
            .collect(),
        seller: party(
            &mut r,
            root,
            &["AccountingSupplierParty", "Party"],
            &root_path,
        ),
        buyer: party(
            &mut r,
            root,
            &["AccountingCustomerParty", "Party"],
            &root_path,
        ),
        payee: payee.map(|_| party(&mut r, root, &["PayeeParty"], &root_path)),
        tax_representative: child(root, &["TaxRepresentativeParty"])
            .map(|_| party(&mut r, root, &["TaxRepresentativeParty"], &root_path)),
        delivery: Delivery {
            party_name: r.text(delivery, &["DeliveryParty", "PartyName", "Name"]),
            date: r.date(delivery, &["ActualDeliveryDate"]),
            address: child(delivery, &["DeliveryLocation", "Address"]).map(|a| address(&mut r, a)),
        },
        invoicing_period: child(root, &["InvoicePeriod"])
            .filter(|p| {
                child(Some(*p), &["StartDate"]).is_some() || child(Some(*p), &["EndDate"]).is_some()
            })
            .map(|p| period(&mut r, p)),
        creditor_id,
        mandate: all(root, &["PaymentMeans"])
            .into_iter()
            .find_map(|m| r.text(Some(m), &["PaymentMandate", "ID"])),
        payment_means,
        allowances,
        charges,
        totals,
        vat_breakdown,
        lines,
        unreadable: std::mem::take(&mut r.unreadable),
        root: root_path,
    }
}

fn party(r: &mut Reader, parent: Option<Node<'_, '_>>, path: &[&str], root: &str) -> Party {
    let p = child(parent, path);
    let Some(node) = p else {
        return Party {
            path: r.path_below(parent, root, path),
            ..Party::default()
        };
    };
    let schemes = all(p, &["PartyTaxScheme"]);
    let is_vat = |s: &Node<'_, '_>| {
        child(Some(*s), &["TaxScheme", "ID"])
            .and_then(|n| n.text())
            .is_some_and(|id| id.trim().eq_ignore_ascii_case("VAT"))
    };
    let vat_id = schemes
        .iter()
        .filter(|s| is_vat(s))
        .find_map(|s| r.identifier(Some(*s), &["CompanyID"]));
    let tax_registration = schemes
        .iter()
        .filter(|s| !is_vat(s))
        .find_map(|s| r.identifier(Some(*s), &["CompanyID"]));
    let legal = child(p, &["PartyLegalEntity"]);
    let name = r
        .text(legal, &["RegistrationName"])
        .or_else(|| r.text(p, &["PartyName", "Name"]));
    Party {
        path: r.path_of(node),
        name,
        trading_name: r.text(p, &["PartyName", "Name"]),
        identifiers: r.texts(p, &["PartyIdentification", "ID"]),
        legal_id: r.text(legal, &["CompanyID"]),
        vat_id,
        tax_registration,
        electronic_address: r.text(p, &["EndpointID"]),
        electronic_address_scheme: r.attribute(p, &["EndpointID"], "schemeID"),
        address: child(p, &["PostalAddress"]).map(|a| address(r, a)),
        contact: child(p, &["Contact"]).map(|c| Contact {
            path: r.path_of(c),
            name: r.text(Some(c), &["Name"]),
            phone: r.text(Some(c), &["Telephone"]),
            email: r.text(Some(c), &["ElectronicMail"]),
        }),
    }
}

/// BT-18 / BT-128: a document reference with type code 130.
fn object_reference(
    r: &mut Reader,
    parent: Option<Node<'_, '_>>,
    name: &str,
) -> Option<At<String>> {
    r.text_where(parent, &[name], ("DocumentTypeCode", "130"), "ID")
}

fn address(r: &mut Reader, a: Node<'_, '_>) -> Address {
    let a = Some(a);
    Address {
        path: a.map(|n| r.path_of(n)).unwrap_or_default(),
        line_one: r.text(a, &["StreetName"]),
        city: r.text(a, &["CityName"]),
        post_code: r.text(a, &["PostalZone"]),
        subdivision: r.text(a, &["CountrySubentity"]),
        country: r.text(a, &["Country", "IdentificationCode"]),
    }
}

fn period(r: &mut Reader, p: Node<'_, '_>) -> Period {
    r.period(p, "StartDate", "EndDate")
}

fn payment_means(r: &mut Reader, m: Node<'_, '_>) -> PaymentMeans {
    let means = Some(m);
    PaymentMeans {
        path: r.path_of(m),
        code: r.text(means, &["PaymentMeansCode"]),
        text: r.attribute(means, &["PaymentMeansCode"], "name"),
        remittance: r.text(means, &["PaymentID"]),
        accounts: all(means, &["PayeeFinancialAccount", "ID"])
            .into_iter()
            .filter_map(|n| r.ident_of(n))
            .collect(),
        has_account_group: child(means, &["PayeeFinancialAccount"]).is_some(),
        bic: r.identifier(
            means,
            &["PayeeFinancialAccount", "FinancialInstitutionBranch", "ID"],
        ),
        card_number: r.text(means, &["CardAccount", "PrimaryAccountNumberID"]),
        debited_account: r.identifier(means, &["PaymentMandate", "PayerFinancialAccount", "ID"]),
    }
}

/// `cac:AllowanceCharge` children of `parent`, split by `ChargeIndicator`.
fn allowances_and_charges(
    r: &mut Reader,
    parent: Option<Node<'_, '_>>,
    document_level: bool,
) -> (Vec<AllowanceCharge>, Vec<AllowanceCharge>) {
    let mut allowances = Vec::new();
    let mut charges = Vec::new();
    for n in all(parent, &["AllowanceCharge"]) {
        let node = Some(n);
        let is_charge = r
            .text(node, &["ChargeIndicator"])
            .is_some_and(|i| i.value.eq_ignore_ascii_case("true") || i.value == "1");
        let tax = child(node, &["TaxCategory"]);
        let item = AllowanceCharge {
            path: r.path_of(n),
            amount: r.amount(node, &["Amount"]),
            base: r.amount(node, &["BaseAmount"]),
            percent: r.amount(node, &["MultiplierFactorNumeric"]),
            vat_category: if document_level {
                r.text(tax, &["ID"])
            } else {
                None
            },
            vat_rate: if document_level {
                r.amount(tax, &["Percent"])
            } else {
                None
            },
            reason: r.text(node, &["AllowanceChargeReason"]),
            reason_code: r.text(node, &["AllowanceChargeReasonCode"]),
        };
        if is_charge {
            charges.push(item);
        } else {
            allowances.push(item);
        }
    }
    (allowances, charges)
}

fn line(r: &mut Reader, l: Node<'_, '_>, quantity_name: &str) -> InvoiceLine {
    let line = Some(l);
    let item = child(line, &["Item"]);
    let price = child(line, &["Price"]);
    let category = child(item, &["ClassifiedTaxCategory"]);
    let (allowances, charges) = allowances_and_charges(r, line, false);
    let price_allowance = child(price, &["AllowanceCharge"]);
    InvoiceLine {
        path: r.path_of(l),
        id: r.text(line, &["ID"]),
        quantity: r.amount(line, &[quantity_name]),
        unit: r.attribute(line, &[quantity_name], "unitCode"),
        net_amount: r.amount(line, &["LineExtensionAmount"]),
        object_id: object_reference(r, line, "DocumentReference"),
        order_line: r.text(line, &["OrderLineReference", "LineID"]),
        period: child(line, &["InvoicePeriod"]).map(|p| period(r, p)),
        allowances,
        charges,
        net_price: r.amount(price, &["PriceAmount"]),
        price_discount: r.amount(price_allowance, &["Amount"]),
        gross_price: r.amount(price_allowance, &["BaseAmount"]),
        base_quantity: r.amount(price, &["BaseQuantity"]),
        vat_category: r.text(category, &["ID"]),
        vat_rate: r.amount(category, &["Percent"]),
        name: r.text(item, &["Name"]),
        description: r.text(item, &["Description"]),
        seller_item_id: r.text(item, &["SellersItemIdentification", "ID"]),
    }
}
