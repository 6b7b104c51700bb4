package normalize

import "github.com/rapportcrm/rapport/internal/crm"

// currencyCodes are the active ISO 4217 codes (list one), including fund codes (CLF, MXV, ...),
// precious metals and XDR, without XTS (testing) and XXX (no currency). Withdrawn codes are not
// accepted: ANG (replaced by XCG in 2025), BGN (Bulgaria adopted the euro in 2026), CUC, HRK,
// SLL (replaced by SLE), ZWL (replaced by ZWG) and older ones.
const currencyCodes = "" +
	"AED AFN ALL AMD AOA ARS AUD AWG AZN " +
	"BAM BBD BDT BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD " +
	"CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK " +
	"DJF DKK DOP DZD " +
	"EGP ERN ETB EUR " +
	"FJD FKP " +
	"GBP GEL GHS GIP GMD GNF GTQ GYD " +
	"HKD HNL HTG HUF " +
	"IDR ILS INR IQD IRR ISK " +
	"JMD JOD JPY " +
	"KES KGS KHR KMF KPW KRW KWD KYD KZT " +
	"LAK LBP LKR LRD LSL LYD " +
	"MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN " +
	"NAD NGN NIO NOK NPR NZD " +
	"OMR " +
	"PAB PEN PGK PHP PKR PLN PYG " +
	"QAR " +
	"RON RSD RUB RWF " +
	"SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL " +
	"THB TJS TMT TND TOP TRY TTD TWD TZS " +
	"UAH UGX USD USN UYI UYU UYW UZS " +
	"VED VES VND VUV " +
	"WST " +
	"XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA " +
	"YER " +
	"ZAR ZMW ZWG"

// Currency normalizes an ISO 4217 currency code: trimmed and upper-cased, it must be an active code
// ("cny" gives "CNY"). RMB, the everyday name of the Chinese yuan, is refused with a pointer to CNY
// rather than silently mapped, so that the caller learns the code.
func Currency(field, s string) (string, error) {
	code, ok := upperASCII(s, 3)
	if ok && inList(currencyCodes, code) {
		return code, nil
	}
	switch code {
	case "RMB", "CNH":
		return "", crm.Invalid(field, "%q is not an ISO 4217 currency code: send CNY for the Chinese yuan (renminbi).", code)
	}
	return "", crm.Invalid(field, "%s is not an active ISO 4217 currency code: send a three-letter code like CNY, USD or EUR.", quote(s))
}
