package scaleseed

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// The vocabulary the generator draws from. Chinese names keep their characters; e-mail addresses
// use the pinyin next to them, since the schema wants lower-case ASCII-compatible addresses.

type cnName struct{ han, pinyin string }

var surnames = []cnName{
	{"王", "wang"}, {"李", "li"}, {"张", "zhang"}, {"刘", "liu"}, {"陈", "chen"}, {"杨", "yang"},
	{"黄", "huang"}, {"赵", "zhao"}, {"吴", "wu"}, {"周", "zhou"}, {"徐", "xu"}, {"孙", "sun"},
	{"马", "ma"}, {"朱", "zhu"}, {"胡", "hu"}, {"郭", "guo"}, {"何", "he"}, {"林", "lin"},
	{"高", "gao"}, {"罗", "luo"}, {"郑", "zheng"}, {"梁", "liang"}, {"谢", "xie"}, {"宋", "song"},
	{"唐", "tang"}, {"许", "xu"}, {"韩", "han"}, {"冯", "feng"}, {"邓", "deng"}, {"曹", "cao"},
	{"欧阳", "ouyang"}, {"司马", "sima"},
}

var givenNames = []cnName{
	{"小明", "xiaoming"}, {"伟", "wei"}, {"芳", "fang"}, {"娜", "na"}, {"敏", "min"}, {"静", "jing"},
	{"丽", "li"}, {"强", "qiang"}, {"磊", "lei"}, {"军", "jun"}, {"洋", "yang"}, {"勇", "yong"},
	{"艳", "yan"}, {"杰", "jie"}, {"涛", "tao"}, {"明", "ming"}, {"超", "chao"}, {"秀英", "xiuying"},
	{"桂英", "guiying"}, {"建华", "jianhua"}, {"志强", "zhiqiang"}, {"晓燕", "xiaoyan"}, {"海燕", "haiyan"},
	{"子涵", "zihan"}, {"浩然", "haoran"}, {"欣怡", "xinyi"}, {"宇轩", "yuxuan"}, {"梓萱", "zixuan"},
	{"雨桐", "yutong"}, {"俊杰", "junjie"}, {"思远", "siyuan"}, {"佳琪", "jiaqi"},
}

var westernFirst = []string{"James", "Emily", "Oliver", "Sophie", "Lukas", "Anna", "Mateo", "Lucía", "Hiroshi",
	"Yuki", "Priya", "Arjun", "Min-jun", "Ji-woo", "Noah", "Olivia", "Liam", "Chloé", "Léa", "Hugo",
	"Sven", "Ingrid", "Marco", "Giulia", "Ahmed", "Fatima", "Daniel", "Sarah", "Nguyen", "Siti"}

var westernLast = []string{"Smith", "Johnson", "Brown", "Müller", "Schmidt", "García", "Martínez", "Rossi",
	"Dubois", "Martin", "Tanaka", "Suzuki", "Kim", "Park", "Patel", "Sharma", "Nguyen", "Tran", "Wilson",
	"Taylor", "Andersson", "Nielsen", "Silva", "Santos", "O'Brien", "Walker", "Novak", "Kowalski"}

// region is a province or state with its cities, its country, its phone country code and the
// leading digits and length of its mobile numbers.
type region struct {
	country, name string
	cities        []string
	code          string // country calling code
	mobile        string // leading digits of a mobile number after the country code
	digits        int    // digits after mobile
	regCode       string // 6-digit administrative division code (China only)
}

var cnRegions = []region{
	{"CN", "广东", []string{"广州", "深圳", "东莞", "佛山"}, "86", "13", 9, "440300"},
	{"CN", "浙江", []string{"杭州", "宁波", "温州", "绍兴"}, "86", "15", 9, "330100"},
	{"CN", "江苏", []string{"南京", "苏州", "无锡", "常州"}, "86", "18", 9, "320500"},
	{"CN", "上海", []string{"上海"}, "86", "13", 9, "310115"},
	{"CN", "北京", []string{"北京"}, "86", "13", 9, "110108"},
	{"CN", "山东", []string{"济南", "青岛", "烟台"}, "86", "17", 9, "370200"},
	{"CN", "四川", []string{"成都", "绵阳"}, "86", "19", 9, "510100"},
	{"CN", "湖北", []string{"武汉", "宜昌"}, "86", "15", 9, "420100"},
	{"CN", "福建", []string{"福州", "厦门", "泉州"}, "86", "18", 9, "350200"},
	{"CN", "河南", []string{"郑州", "洛阳"}, "86", "13", 9, "410100"},
	{"CN", "天津", []string{"天津"}, "86", "13", 9, "120116"},
	{"CN", "重庆", []string{"重庆"}, "86", "17", 9, "500105"},
}

var intlRegions = []region{
	{"US", "California", []string{"San Francisco", "San Jose", "Los Angeles"}, "1", "415", 7, ""},
	{"US", "New York", []string{"New York", "Buffalo"}, "1", "646", 7, ""},
	{"GB", "England", []string{"London", "Manchester"}, "44", "7700", 6, ""},
	{"DE", "Bayern", []string{"München", "Nürnberg"}, "49", "151", 8, ""},
	{"FR", "Île-de-France", []string{"Paris"}, "33", "6", 8, ""},
	{"JP", "東京都", []string{"東京"}, "81", "90", 8, ""},
	{"SG", "Singapore", []string{"Singapore"}, "65", "9", 7, ""},
	{"IN", "Karnataka", []string{"Bengaluru"}, "91", "98", 8, ""},
	{"AU", "New South Wales", []string{"Sydney"}, "61", "4", 8, ""},
	{"KR", "서울", []string{"서울"}, "82", "10", 8, ""},
	{"BR", "São Paulo", []string{"São Paulo"}, "55", "119", 8, ""},
	{"AE", "Dubai", []string{"Dubai"}, "971", "50", 7, ""},
}

var cnCompanyWords = []string{"云栖", "华信", "恒通", "中联", "海川", "博远", "天成", "新锐", "安达", "瑞丰",
	"金桥", "东方", "星河", "长城", "汇智", "鼎盛", "宏图", "启明", "万象", "智联", "蓝海", "众诚", "腾飞", "嘉禾"}

var cnCompanyPinyin = []string{"yunqi", "huaxin", "hengtong", "zhonglian", "haichuan", "boyuan", "tiancheng",
	"xinrui", "anda", "ruifeng", "jinqiao", "dongfang", "xinghe", "changcheng", "huizhi", "dingsheng",
	"hongtu", "qiming", "wanxiang", "zhilian", "lanhai", "zhongcheng", "tengfei", "jiahe"}

var cnTrades = []string{"科技", "信息技术", "精密机械", "新材料", "医疗器械", "物流", "贸易", "电子", "软件", "生物科技", "食品", "建设工程"}

var intlCompanyWords = []string{"Globex", "Initech", "Umbrella", "Stark", "Wayne", "Acme", "Hooli", "Vandelay",
	"Soylent", "Tyrell", "Cyberdyne", "Wonka", "Gringotts", "Oscorp", "Aperture", "Nakatomi"}

var intlSuffixes = []string{"Ltd", "GmbH", "Inc.", "S.A.", "K.K.", "Pte Ltd", "LLC", "AG", "B.V."}

var tlds = map[string]string{"CN": "cn", "US": "com", "GB": "co.uk", "DE": "de", "FR": "fr", "JP": "jp",
	"SG": "sg", "IN": "in", "AU": "com.au", "KR": "kr", "BR": "com.br", "AE": "ae"}

var industries = []string{"Software", "Manufacturing", "Wholesale", "Logistics", "Healthcare", "Education",
	"Financial services", "Retail", "Energy", "Construction", "Data services", "Automotive"}

var titlesCN = []string{"总经理", "采购经理", "CTO 首席技术官", "信息中心主任", "市场总监", "财务总监", "运营经理", "IT 经理", "销售总监", "行政主管"}

var titlesEN = []string{"CEO", "Head of Procurement", "CTO", "IT Manager", "VP Operations", "Marketing Director",
	"CFO", "Operations Manager", "Sales Director", "Office Manager"}

var freeMail = []string{"qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "foxmail.com"}

var sources = []string{"web_form", "api", "import", "referral", "partner", "event", "webinar", "trial", "social", "email"}

var campaigns = []string{"", "", "2025 智能制造峰会", "2025 双十一促销", "Hannover Messe 2025", "2026 新春直播",
	"CeBIT Asia", "百度搜索推广", "微信公众号投放", "Q4 webinar series", "LinkedIn ABM", "618 年中大促"}

var utmSources = []string{"baidu", "wechat", "google", "linkedin", "douyin", "zhihu", "newsletter", "bing"}
var utmMedia = []string{"cpc", "social", "email", "organic", "display", "referral"}

var lossReasons = []string{"Price", "Chose a competitor", "No budget", "No decision", "Timing", "Product fit"}
var competitors = []string{"", "Salesforce", "纷享销客", "销售易", "HubSpot", "Zoho", "Microsoft Dynamics"}
var dealProducts = []string{"CRM 私有化部署", "年度订阅", "MES 二期", "BI 平台", "数据中台", "support renewal",
	"EMEA rollout", "pilot", "enterprise licence", "implementation services", "培训服务", "API 集成"}

var activitySubjects = map[string][]string{
	"call":    {"电话沟通需求", "Follow-up call", "报价确认电话", "Discovery call", "回访客户"},
	"meeting": {"现场拜访", "Demo meeting", "方案汇报", "Contract review", "技术交流会"},
	"email":   {"发送报价单", "Sent proposal", "会议纪要", "Re: pricing", "产品资料"},
	"note":    {"客户关注价格", "Decision in Q2", "竞品在跟进", "Budget approved", "需要法务审核"},
}
var outcomes = []string{"", "connected", "no answer", "left voicemail", "interested", "not interested"}

var eventURLs = []string{"/", "/pricing", "/product/crm", "/product/bi", "/blog/digital-transformation",
	"/case-studies", "/contact", "/docs/api", "/webinar/2025-q4", "/download/whitepaper.pdf"}

var taskTitles = []string{"回电客户", "Send the quote", "准备演示环境", "Follow up on proposal", "确认合同条款",
	"Schedule a demo", "更新客户资料", "Check budget with finance"}

// pick returns a uniformly chosen element of xs.
func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// uscc is a unified social credit code that is unique per n: "91", the division code, then n in
// the code's alphabet (which has no I, O, S, V or Z) over 10 characters.
func uscc(div string, n uint64) string {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	var b [10]byte
	for i := 9; i >= 0; i-- {
		b[i] = alphabet[n%uint64(len(alphabet))]
		n /= uint64(len(alphabet))
	}
	return "91" + div + string(b[:])
}

// phone is an E.164 mobile number of the region, unique per n below 10^digits: n is spread over
// the number space by a multiplication that is a bijection modulo 10^digits.
func phone(rg region, n uint64) string {
	mod := uint64(1)
	for range rg.digits {
		mod *= 10
	}
	v := (n*7919 + 1234567) % mod // 7919 is coprime to every power of ten
	s := strconv.FormatUint(v, 10)
	return "+" + rg.code + rg.mobile + strings.Repeat("0", rg.digits-len(s)) + s
}
