package leads

import (
	"strings"
	"testing"

	"github.com/rapportcrm/rapport/internal/crm"
)

func TestCheckTransition(t *testing.T) {
	for _, tc := range []struct {
		from, to crm.LeadStatus
		reason   string
		want     string // "" allowed, else part of the error
	}{
		{crm.LeadNew, crm.LeadWorking, "", ""},
		{crm.LeadNew, crm.LeadQualified, "", ""},
		{crm.LeadWorking, crm.LeadDisqualified, "no budget", ""},
		{crm.LeadWorking, crm.LeadDisqualified, " ", "needs a reason"},
		{crm.LeadDisqualified, crm.LeadWorking, "", ""},
		{crm.LeadDisqualified, crm.LeadQualified, "", "can move to WORKING, NURTURING, not QUALIFIED"},
		{crm.LeadWorking, crm.LeadNew, "", "not NEW"},
		{crm.LeadConverted, crm.LeadWorking, "", "cannot change status"},
		{crm.LeadQualified, crm.LeadConverted, "", "only through convertLead"},
		{crm.LeadNew, "lost", "", "Unknown status"},
	} {
		err := CheckTransition(tc.from, tc.to, tc.reason)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s -> %s: %v", tc.from, tc.to, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s -> %s: error %v, want it to say %q", tc.from, tc.to, err, tc.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	l := crm.Lead{Name: "  王小明 ", Company: " “北京某某科技有限公司”。", Email: " Wang.XM@Example.CN ", Phone: "138 0013 8000",
		Website: "https://www.Example.cn/about", Source: crm.SourceWebForm, Country: "cn"}
	warnings, err := Normalize(&l, "CN", false)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Normalize: %v %v", warnings, err)
	}
	want := crm.Lead{Name: "王小明", Company: "北京某某科技有限公司", Email: "wang.xm@example.cn", Phone: "+8613800138000",
		Website: "example.cn", Source: crm.SourceWebForm, Country: "CN"}
	if l.Name != want.Name || l.Company != want.Company || l.Email != want.Email || l.Phone != want.Phone ||
		l.Website != want.Website || l.Country != want.Country {
		t.Errorf("got %+v\nwant %+v", l, want)
	}

	bad := crm.Lead{Name: "Ann Lee", Email: "ann@", Phone: "12", Source: crm.SourceAPI}
	if _, err := Normalize(&bad, "CN", false); err == nil || !strings.Contains(err.Error(), "field=email") {
		t.Errorf("strict mode refuses the bad e-mail: %v", err)
	}
	bad = crm.Lead{Name: "Ann Lee", Email: "ann@", Phone: "12", Source: crm.SourceAPI}
	warnings, err = Normalize(&bad, "CN", true)
	if err != nil || len(warnings) != 2 || warnings[0].Field != "email" || warnings[1].Field != "phone" || bad.Email != "" || bad.Phone != "" {
		t.Errorf("partial mode drops both with warnings: %v %v %+v", warnings, err, bad)
	}
	nobody := crm.Lead{Email: "not-an-email", Source: crm.SourceAPI}
	if _, err := Normalize(&nobody, "CN", true); err == nil || !strings.Contains(err.Error(), "needs a valid e-mail") {
		t.Errorf("a lead left with nothing is refused: %v", err)
	}
	anon := crm.Lead{Email: "li.na@example.com", Source: crm.SourceAPI}
	if _, err := Normalize(&anon, "CN", false); err != nil || anon.Name != "li.na" {
		t.Errorf("a nameless lead is named after its e-mail: %q %v", anon.Name, err)
	}
	if _, err := Normalize(&crm.Lead{Name: "x", Source: "fax"}, "CN", false); err == nil {
		t.Error("unknown source refused")
	}
}

func TestCompany(t *testing.T) {
	for in, want := range map[string]string{
		"  Acme   Inc. ": "Acme Inc.",
		"\"Globex\",":    "Globex",
		"「上海某某贸易有限公司」":   "上海某某贸易有限公司",
		"北京某某（集团）有限公司。":  "北京某某（集团）有限公司",
		"Initech Ltd.":   "Initech Ltd.",
		"Foo Bar Co.,":   "Foo Bar Co.",
	} {
		got, err := Company(in)
		if err != nil || got != want {
			t.Errorf("Company(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestSplitName(t *testing.T) {
	for name, want := range map[string][2]string{
		"王小明": {"小明", "王"}, "欧阳娜娜": {"娜娜", "欧阳"}, "Wei Zhang": {"Wei", "Zhang"},
		"Mary Ann Smith": {"Mary Ann", "Smith"}, "Cher": {"", "Cher"}, "李": {"", "李"}, "": {"", ""},
	} {
		if f, l := SplitName(name); f != want[0] || l != want[1] {
			t.Errorf("SplitName(%q) = %q, %q; want %q, %q", name, f, l, want[0], want[1])
		}
	}
}
