package citygen

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// Name stems for communities, roads and compounds: two-character words of the
// kind Shenzhen names are made of. Names are built from them, never copied from
// real registers, so a generated address never points at a real household.
var stems = strings.Fields(`
园岭 华富 莲花 景田 香蜜 福新 新洲 石厦 上沙 下沙 沙尾 渔农 水围 皇岗 福民 岗厦 福山 益田 彩田 梅林
翰岭 龙尾 新沙 沙嘴 金地 碧海 荔园 红荔 笋岗 泥岗 湖贝 东门 晒布 翠竹 黄贝 罗芳 莲塘 仙湖 桂园 人民
南头 前海 蛇口 海月 后海 科苑 高新 大冲 白石 沙河 西丽 留仙 麻磡 桃源 龙珠 塘朗 平山 松坪 新安 西乡
固戍 福永 沙井 松岗 石岩 航城 凤凰 民治 观澜 大浪 龙华 清湖 福城 布吉 坂田 横岗 平湖 龙城 吉华 宝龙
园山 南湾 坪山 坑梓 碧岭 石井 龙田 马峦 公明 光明 玉塘 马田 新湖 梅沙 海山 沙头 盐田 东湖 清水 银湖
长岭 上步 八卦 华强 振兴 燕南 通新 新华 安托 侨香 农林 竹林 熙园 锦绣 怡景 翠海 玉龙 大新 麒麟 向南
创业 宝城 流塘 灵芝 翻身 上川 鹤洲 黄田 铁仔 塘尾 怀德 凤岗 桥头 和平 石龙 大洋 甲岸 楼村 将石 东坑
`)

// Suffixes of road names (路名) and compound names (小区名).
var (
	roadSuffixes     = []string{"路", "大道", "街", "一路", "二路", "三路", "北路", "南路", "东路", "西路", "大街", "巷"}
	compoundSuffixes = []string{"花园", "苑", "小区", "家园", "名苑", "雅居", "新村", "华庭", "公寓", "山庄", "广场", "城"}
)

// Common surnames, most frequent first, for masked household heads.
var surnames = strings.Fields(`王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁 谢 宋 唐 许 韩 冯 邓 曹
彭 曾 肖 田 董 袁 潘 于 蒋 蔡 余 杜 叶 程 苏 魏 吕 丁 任 沈 姚 卢 姜 崔 钟 谭 陆 汪 范 金 石 廖 贾 夏 韦 付 方 白 邹 孟
熊 秦 邱 江 尹 薛 闫 段 雷 侯 龙 史 陶 黎 贺 顾 毛 郝 龚 邵 万 钱 欧阳 司马 上官`)

// Mobile number prefixes (三大运营商号段).
var phonePrefixes = strings.Fields(`130 131 132 133 135 136 137 138 139 150 151 152 155 156 158 159 166 170 176 177 178 180 181 182 183 185 186 187 188 189 191 198 199`)

// tag is a household tag with the share of households carrying it.
type tag struct {
	name  string
	share float64
}

// householdTags are the tags grid workers keep for targeted service, with
// plausible shares; 独居老人 is given only to one-person households.
var householdTags = []tag{
	{"残疾人", 0.025},
	{"留守老人", 0.015},
	{"低保", 0.02},
	{"独居老人", 0.04},
	{"退役军人", 0.02},
	{"特困人员", 0.004},
	{"重点青少年", 0.005},
	{"孕产妇", 0.012},
}

// pickNames returns n distinct names made from stems and suffixes, in random order;
// past the number of combinations a running number keeps them distinct.
func pickNames(r *rand.Rand, n int, suffixes []string) []string {
	combos := len(stems) * len(suffixes)
	out := make([]string, 0, n)
	for round := 0; len(out) < n; round++ {
		for _, k := range r.Perm(combos) {
			if len(out) == n {
				break
			}
			name := stems[k/len(suffixes)]
			if round > 0 {
				name += strconv.Itoa(round + 1)
			}
			out = append(out, name+suffixes[k%len(suffixes)])
		}
	}
	return out
}
