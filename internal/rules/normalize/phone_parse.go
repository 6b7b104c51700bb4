package normalize

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Reading phone numbers took a fifth of the server's CPU in batch lead capture: libphonenumber's
// Parse runs about a dozen regular expressions on every input, the largest (extension markers such
// as "ext.", "#", ",,") at each start position. What API clients and web forms send is almost always a plain
// number: an optional leading +, then digits (full-width ones from Chinese input methods too) and
// the separators space - . ( ) /. For those, parsePlainPhone takes the steps Parse takes (v1.8.1,
// parseHelper and the functions it calls, named in the comments below) on the digits alone, with
// the same metadata and the same regular expressions, and gives the same number or the same error.
// Which steps it may leave out:
//
//   - RFC 3966 ("tel:", ";phone-context=", ";isub="): every marker holds a ';' or a ':'.
//   - Extensions (maybeStripExtension, EXTN_PATTERN): every alternative of the pattern needs a
//     letter (ext, x, int, anexo, доб, their full-width and case-folded forms), '#', '＃', '~', '～',
//     ',' or ';'.
//   - Trailing junk and second numbers (extractPossibleNumber): UNWANTED_END_CHAR_PATTERN, which Go
//     reads as "[any]&&[^#]\]+$", needs "&&" and ']'; SECOND_NUMBER_START_PATTERN needs an 'x'.
//   - Vanity numbers (normalize): VALID_ALPHA_PHONE_PATTERN needs three letters, so normalizing
//     keeps the digits, full-width ones folded to ASCII (NormalizeDigitsOnly).
//
// Anything else (letters, other symbols, a + after the start, full-width +, region codes
// libphonenumber does not know) goes to Parse itself. TestParsePlainPhoneIsParse and
// FuzzParsePlainPhone compare the two.

// parsePhone is phonenumbers.Parse(s, region), taking the fast path for plain numbers.
func parsePhone(s, region string) (*phonenumbers.PhoneNumber, error) {
	if num, ok, err := parsePlainPhone(s, region); ok {
		return num, err
	}
	return phonenumbers.Parse(s, region)
}

// parsePlainPhone reads s as phonenumbers.Parse(s, region) does when s is a plain number (an
// optional leading + followed by digits and the separators space - . ( ) /) and region is empty or
// one libphonenumber supports: ok is true and num and err are Parse's (num is nil on error, where
// Parse's partly filled number means nothing). ok is false for any other input.
func parsePlainPhone(s, region string) (num *phonenumbers.PhoneNumber, ok bool, err error) {
	t := phoneTables()
	var def *phoneCountry // the default region's metadata, as getMetadataForRegion(region)
	if region != "" {
		if def = t.regions[region]; def == nil {
			return nil, false, nil
		}
	}
	if len(s) > phonenumbers.MAX_INPUT_STRING_LENGTH {
		return nil, false, nil
	}
	plus := strings.HasPrefix(s, "+")
	digits, first, ok := plainPhoneDigits(s, plus)
	if !ok {
		return nil, false, nil
	}

	// isViablePhoneNumber on extractPossibleNumber(s), which starts at the + or the first digit:
	// VALID_PHONE_NUMBER_PATTERN takes exactly two digits, or +s, then at least three digits
	// among punctuation.
	if len(digits) < 3 && (plus || len(digits) != 2 || utf8.RuneCountInString(s[first:]) != 2) {
		return nil, true, phonenumbers.ErrNotANumber
	}
	// checkRegionForParsing: without a region the number must hold a +.
	if def == nil && !plus {
		return nil, true, phonenumbers.ErrInvalidCountryCode
	}

	// parseHelper: the country calling code, and if the leading + was followed by an unknown code,
	// a second try without the + (so "+0086 ..." read in CN finds the IDD 00).
	cc, national, err := t.countryCode(digits, plus, def)
	if err == phonenumbers.ErrInvalidCountryCode && plus {
		if cc, national, err = t.countryCode(digits, false, def); err == nil && cc == 0 {
			err = phonenumbers.ErrInvalidCountryCode
		}
	}
	if err != nil {
		return nil, true, err
	}
	meta := def
	if cc != 0 {
		// The metadata of the code's main region (the default region's when that is the one).
		if meta = t.codes[cc]; meta == nil {
			return nil, false, nil
		}
	} else {
		// No code in the number: a national number of the default region (which is set: without
		// one the number has a +, and a + yields a code or an error).
		cc, national = def.code, digits
	}
	if len(national) < phonenumbers.MIN_LENGTH_FOR_NSN {
		return nil, true, phonenumbers.ErrTooShortNSN
	}
	// The national prefix is dropped only if what remains has a possible length.
	stripped := meta.stripNationalPrefix(national)
	switch meta.testLength(len(stripped)) {
	case phonenumbers.TOO_SHORT, phonenumbers.IS_POSSIBLE_LOCAL_ONLY, phonenumbers.INVALID_LENGTH:
	default:
		national = stripped
	}
	if len(national) < phonenumbers.MIN_LENGTH_FOR_NSN {
		return nil, true, phonenumbers.ErrTooShortNSN
	}
	if len(national) > phonenumbers.MAX_LENGTH_FOR_NSN {
		return nil, true, phonenumbers.ErrNumTooLong
	}
	// One allocation holds the number and the values its fields point to.
	p := &parsedPhone{code: cc}
	p.national, _ = strconv.ParseUint(national, 10, 64)
	p.num.CountryCode, p.num.NationalNumber = &p.code, &p.national
	// setItalianLeadingZerosForPhoneNumber: the zeros the integer national number cannot hold.
	if len(national) >= 2 && national[0] == '0' {
		p.italianZero, p.zeros = true, 1
		for int(p.zeros) < len(national)-1 && national[p.zeros] == '0' {
			p.zeros++
		}
		p.num.ItalianLeadingZero = &p.italianZero
		if p.zeros != 1 {
			p.num.NumberOfLeadingZeros = &p.zeros
		}
	}
	num = &p.num
	return num, true, nil
}

// parsedPhone is a number parsePlainPhone returns, with the values its optional fields point to.
type parsedPhone struct {
	num         phonenumbers.PhoneNumber
	code        int32
	national    uint64
	italianZero bool
	zeros       int32
}

// plainPhoneDigits returns the digits of s with full-width ones folded to ASCII, and the byte
// offset of the first digit, when s after its leading + (if plus) holds only digits and the
// separators space - . ( ) /; ok is false otherwise.
func plainPhoneDigits(s string, plus bool) (digits string, first int, ok bool) {
	i := 0
	if plus {
		i = 1
	}
	var arr [24]byte // room for the digits of most numbers without an allocation
	buf := arr[:0]
	first = -1
	for j, r := range s[i:] {
		switch {
		case r >= '0' && r <= '9':
			buf = append(buf, byte(r))
		case r >= '０' && r <= '９':
			buf = append(buf, byte('0'+r-'０'))
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/':
			continue
		default:
			return "", 0, false
		}
		if first < 0 {
			first = i + j
		}
	}
	return string(buf), first, true
}

// countryCode is maybeExtractCountryCode on the digits of a plain number: the country calling code
// after the leading + (plus) or after def's international prefix, or the default region's code if
// the number starts with it and reads better without it; then the rest of the number. It returns
// 0 and no error when the number holds no code.
func (t *phoneTableSet) countryCode(digits string, plus bool, def *phoneCountry) (cc int32, national string, err error) {
	full := digits
	if !plus {
		if def == nil {
			return 0, "", nil // the IDD "NonMatch" never matches digits
		}
		// parsePrefixAsIdd: an IDD followed by a 0 is not one, country codes do not start with 0.
		loc := def.idd.FindStringIndex(digits)
		if loc == nil || (loc[1] < len(digits) && digits[loc[1]] == '0') {
			return def.withoutOwnCode(digits)
		}
		full = digits[loc[1]:]
	}
	if len(full) <= phonenumbers.MIN_LENGTH_FOR_NSN {
		return 0, "", phonenumbers.ErrTooShortAfterIDD
	}
	// extractCountryCode: the first one to three digits that are a known code.
	if full[0] != '0' {
		for i := 1; i <= phonenumbers.MAX_LENGTH_COUNTRY_CODE && i <= len(full); i++ {
			code, _ := strconv.Atoi(full[:i])
			if t.callingCodes[code] {
				return int32(code), full[i:], nil
			}
		}
	}
	return 0, "", phonenumbers.ErrInvalidCountryCode
}

// withoutOwnCode is the last step of maybeExtractCountryCode: a number without + or IDD that
// starts with c's country calling code loses the code when the rest matches c's national number
// pattern and the whole does not, or when the whole is too long for c.
func (c *phoneCountry) withoutOwnCode(digits string) (cc int32, national string, err error) {
	rest, ok := strings.CutPrefix(digits, c.codeDigits)
	if !ok {
		return 0, "", nil
	}
	rest = c.stripNationalPrefix(rest)
	if (!c.nationalNumber.MatchString(digits) && c.nationalNumber.MatchString(rest)) || c.testLength(len(digits)) == phonenumbers.TOO_LONG {
		return c.code, rest, nil
	}
	return 0, "", nil
}

// phoneCountry is what reading numbers needs of one region's metadata, its patterns compiled as
// libphonenumber compiles them.
type phoneCountry struct {
	meta       *phonenumbers.PhoneMetadata
	code       int32  // country calling code
	codeDigits string // code in decimal
	// idd is the international prefix, anchored: parsePrefixAsIdd accepts only a leftmost match
	// at the start, which is the match the anchored pattern finds.
	idd *regexp.Regexp
	// nationalPrefix is "^(?:national_prefix_for_parsing)", nil when there is none;
	// nationalNumber is "^(?:general national number pattern)$".
	nationalPrefix, nationalNumber *regexp.Regexp
	transform                      string // national_prefix_transform_rule
}

// phoneTableSet is the metadata parsePlainPhone reads, by default region and by country calling
// code.
type phoneTableSet struct {
	regions      map[string]*phoneCountry // getMetadataForRegion for each supported region
	codes        map[int32]*phoneCountry  // the metadata of each code's main region, or non-geographic
	callingCodes map[int]bool             // every known country calling code
}

// phoneTables builds the tables once from libphonenumber's metadata. A region whose patterns do not
// compile, or whose metadata lacks possible lengths, is left out, so that Parse reads its numbers.
var phoneTables = sync.OnceValue(func() *phoneTableSet {
	t := &phoneTableSet{regions: map[string]*phoneCountry{}, codes: map[int32]*phoneCountry{}, callingCodes: map[int]bool{}}
	for code := range phonenumbers.GetSupportedCallingCodes() {
		t.callingCodes[code] = true
	}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return t
	}
	supported := phonenumbers.GetSupportedRegions()
	for _, m := range coll.GetMetadata() {
		c := newPhoneCountry(m)
		if m.GetId() != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY && supported[m.GetId()] {
			t.regions[m.GetId()] = c
		}
		if m.GetId() == phonenumbers.GetRegionCodeForCountryCode(int(m.GetCountryCode())) {
			t.codes[m.GetCountryCode()] = c
		}
	}
	return t
})

// newPhoneCountry compiles m's patterns; it returns nil when one does not compile or m has no
// possible lengths (libphonenumber would panic on either).
func newPhoneCountry(m *phonenumbers.PhoneMetadata) *phoneCountry {
	if len(m.GetGeneralDesc().GetPossibleLength()) == 0 {
		return nil
	}
	c := &phoneCountry{meta: m, code: m.GetCountryCode(),
		codeDigits: strconv.Itoa(int(m.GetCountryCode())), transform: m.GetNationalPrefixTransformRule()}
	var err error
	if c.idd, err = regexp.Compile("^(?:" + m.GetInternationalPrefix() + ")"); err != nil {
		return nil
	}
	if c.nationalNumber, err = regexp.Compile("^(?:" + m.GetGeneralDesc().GetNationalNumberPattern() + ")$"); err != nil {
		return nil
	}
	if p := m.GetNationalPrefixForParsing(); p != "" {
		if c.nationalPrefix, err = regexp.Compile("^(?:" + p + ")"); err != nil {
			return nil
		}
	}
	return c
}

// stripNationalPrefix is maybeStripNationalPrefixAndCarrierCode without the carrier code: n
// without its national (trunk) prefix and carrier code, rewritten by the transform rule if there
// is one, unless that turns a number matching the national number pattern into one that does not.
func (c *phoneCountry) stripNationalPrefix(n string) string {
	if n == "" || c.nationalPrefix == nil {
		return n
	}
	groups := c.nationalPrefix.FindStringSubmatchIndex(n)
	if groups == nil {
		return n
	}
	viable := c.nationalNumber.MatchString(n)
	out := n[groups[1]:]
	// The transform applies when the rule exists and the prefix pattern's last group matched.
	if c.transform != "" && groups[len(groups)-2] >= 0 {
		out = c.nationalPrefix.ReplaceAllString(n, c.transform)
	}
	if viable && !c.nationalNumber.MatchString(out) {
		return n
	}
	return out
}

// testLength is testNumberLength(number of length n, c's metadata, UNKNOWN): where n stands against
// the possible lengths of the general description.
func (c *phoneCountry) testLength(n int) phonenumbers.ValidationResult {
	desc := c.meta.GetGeneralDesc()
	possible := desc.GetPossibleLength()
	if possible[0] == -1 {
		return phonenumbers.INVALID_LENGTH
	}
	for _, l := range desc.GetPossibleLengthLocalOnly() {
		if int(l) == n {
			return phonenumbers.IS_POSSIBLE_LOCAL_ONLY
		}
	}
	switch {
	case int(possible[0]) == n:
		return phonenumbers.IS_POSSIBLE
	case int(possible[0]) > n:
		return phonenumbers.TOO_SHORT
	case int(possible[len(possible)-1]) < n:
		return phonenumbers.TOO_LONG
	}
	for _, l := range possible[1:] {
		if int(l) == n {
			return phonenumbers.IS_POSSIBLE
		}
	}
	return phonenumbers.INVALID_LENGTH
}
