package citygen

import (
	"fmt"
	"strconv"
	"strings"
)

// Category is one class of the event taxonomy: level 1 (2-digit code), level 2
// (4 digits) or level 3 (6 digits), each code extending its parent's.
type Category struct {
	Code, ParentCode string
	Level            int
	Name, NameEn     string
	TimeLimitHours   int     // base limit for a general event
	Weight           float64 // relative frequency among level-3 classes (0 above level 3)
	// Sensitive: the events of the class concern a person's health, welfare or
	// a police matter; their points and addresses are shown only where they
	// are the reader's duty (package privacy). A level-2 category is
	// sensitive when all its classes are.
	Sensitive bool
}

// taxonomy is the built-in 3-level event taxonomy (16 / 65 / 186 classes),
// modelled on the urban-management component and event classes of GB/T 30428 and
// the 12345 hotline's. A level-1 line is "name|English|hours|weight"; a level-2
// line starts with a tab and is "name|English|hours: zh/en; zh/en; …", whose items
// are its level-3 classes; an item marked "!zh/en" is sensitive. Level-3 weights
// are the level-1 weight shared evenly.
const taxonomy = `市容环境|City appearance|48|18
	暴露垃圾|Exposed waste|24: 生活垃圾堆积/Household waste pile; 建筑垃圾/Construction waste; 大件垃圾/Bulky waste; 垃圾满溢/Overflowing bins
	乱张贴|Illegal posting|72: 小广告/Flyers; 乱涂写/Graffiti; 乱悬挂/Illegal hanging
	道路不洁|Dirty roads|24: 路面污渍/Road stains; 积存垃圾渣土/Dirt and debris; 动物尸体/Animal carcass
	绿化破坏|Damaged greenery|72: 绿地脏乱/Littered green space; 树木倒伏/Fallen tree; 绿地被占/Occupied green space
街面秩序|Street order|24|16
	占道经营|Street vending|24: 流动摊贩/Mobile vendors; 店外经营/Trading outside shop; 夜市占道/Night market on road
	乱堆物料|Illegal stacking|48: 堆物堆料/Stacked materials; 废品收购占道/Scrap collection on road; 装修材料乱放/Renovation materials
	违规停车|Illegal parking|24: 机动车乱停/Illegal car parking; 非机动车乱停/Bicycles parked illegally; 共享单车堆积/Shared bikes piled up; 僵尸车/Abandoned vehicle
	户外广告|Outdoor advertising|72: 违规招牌/Illegal signboard; 破损广告牌/Broken billboard; 条幅标语/Illegal banner
违法建设|Illegal construction|120|5
	违章搭建|Illegal structures|120: 楼顶加建/Rooftop extension; 占用公共空间搭建/Structure on public space; 围墙违建/Illegal wall
	违规改建|Illegal alteration|120: 擅改房屋结构/Structural alteration; 破墙开店/Wall opening for shop; 封闭阳台超标/Enclosed balcony
	违法用地|Illegal land use|168: 违规占地/Illegal land occupation; 临时建筑逾期/Expired temporary building
	工地管理|Construction sites|72: 工地扬尘/Site dust; 夜间施工/Night works; 围挡破损/Damaged hoarding; 渣土车遗撒/Muck truck spill
市政设施|Municipal facilities|72|10
	道路设施|Road facilities|72: 路面破损/Damaged road surface; 人行道破损/Damaged sidewalk; 道路塌陷/Road collapse
	井盖|Manhole covers|24: 井盖缺失/Missing cover; 井盖破损/Broken cover; 井盖移位/Displaced cover
	路灯照明|Street lighting|72: 路灯不亮/Street light out; 灯杆倾斜/Leaning lamp post; 景观灯损坏/Broken decorative light
	交通设施|Traffic facilities|48: 信号灯故障/Traffic light fault; 交通标志损坏/Damaged sign; 护栏损坏/Damaged guardrail; 标线模糊/Faded markings
环境保护|Environment|72|7
	噪声污染|Noise|24: 社会生活噪声/Neighbourhood noise; 施工噪声/Construction noise; 商业噪声/Commercial noise; 交通噪声/Traffic noise
	大气污染|Air pollution|72: 露天焚烧/Open burning; 油烟扰民/Cooking fumes; 工业废气/Industrial emissions
	水污染|Water pollution|72: 污水直排/Sewage discharge; 河道漂浮物/River litter; 黑臭水体/Black and smelly water
	固废危废|Solid and hazardous waste|72: 危废乱倒/Hazardous waste dumping; 医疗废物/Medical waste; 工业固废/Industrial solid waste
水务排水|Water and drainage|48|6
	排水设施|Drainage|48: 下水道堵塞/Blocked sewer; 雨水篦子缺失/Missing gully grate; 化粪池满溢/Septic tank overflow
	供水|Water supply|24: 停水/Water outage; 水管爆裂/Burst pipe; 水质异常/Water quality problem
	内涝|Waterlogging|12: 道路积水/Flooded road; 地下室进水/Flooded basement; 低洼地积水/Ponding in low ground
	河道水库|Rivers and reservoirs|72: 河堤破损/Damaged embankment; 违规垂钓游泳/Fishing or swimming; 河道淤积/River silting
安全生产|Work safety|24|6
	消防安全|Fire safety|12: 消防通道堵塞/Blocked fire lane; 消防设施损坏/Broken fire equipment; 电动车楼道充电/E-bike charging indoors; 易燃物堆放/Flammable storage
	燃气安全|Gas safety|12: 燃气泄漏/Gas leak; 违规使用瓶装气/Illegal LPG cylinder; 燃气管道损坏/Damaged gas pipe
	三小场所|Small premises|48: 三小场所隐患/Small premises hazard; 人员违规住宿/Illegal sleeping quarters; 出租屋安全/Rental safety
	特种设备|Special equipment|24: 电梯故障/Lift fault; 电梯困人/Trapped in lift; 起重机械隐患/Crane hazard
	危险边坡|Hazardous slopes|24: 边坡裂缝/Slope crack; 挡土墙变形/Deformed retaining wall; 山体滑坡隐患/Landslide risk
治安维稳|Public order|24|5
	矛盾纠纷|Disputes|72: 邻里纠纷/Neighbour dispute; 家庭纠纷/Family dispute; 物业纠纷/Property management dispute; 劳资纠纷/Wage dispute
	治安隐患|Security risks|24: 可疑人员/Suspicious person; 聚众滋事/Group trouble; 监控损坏/Broken CCTV
	群体诉求|Collective petitions|24: 集体上访苗头/Collective petition; 网络舆情/Online opinion incident
	涉毒涉赌|Drugs and gambling|24: !涉赌线索/Gambling lead; !涉毒线索/Drug lead
人口服务|Population services|72|5
	流动人口|Migrant population|72: 未登记出租屋/Unregistered rental; 人员信息变更/Resident data change; 居住证办理/Residence permit
	特殊人群|Special groups|48: !独居老人关怀/Elderly living alone; !困境儿童/Children in difficulty; !精神障碍患者/Mental disorder patient
	社会救助|Social assistance|72: !低保申请/Subsistence allowance; !临时救助/Temporary assistance; !残疾人帮扶/Disability support
	殡葬事务|Funeral affairs|72: 乱埋乱葬/Illegal burial; 路祭焚烧/Street offering burning
交通运输|Transport|48|6
	公交出行|Public transport|72: 公交站台损坏/Damaged bus stop; 公交线路建议/Bus route suggestion; 出租车拒载/Taxi refusal
	道路拥堵|Congestion|24: 路口拥堵/Junction congestion; 学校周边拥堵/School traffic
	非法营运|Illegal operation|48: 黑车揽客/Unlicensed taxi; 摩的拉客/Motorbike taxi
	停车管理|Parking management|72: 停车收费纠纷/Parking fee dispute; 充电桩故障/EV charger fault; 车位不足/Parking shortage
住房物业|Housing and property|72|8
	物业服务|Property services|72: 物业不作为/Inactive management; 公共区域卫生/Common area cleanliness; 门禁故障/Door access fault
	房屋安全|Building safety|24: 外墙脱落/Falling facade; 房屋漏水/Leaking building; 房屋开裂/Cracked building
	租赁管理|Rental management|72: 租赁纠纷/Rental dispute; 群租房/Overcrowded rental; 中介违规/Agency misconduct
	老旧小区|Old estates|120: 加装电梯/Lift retrofit; 管网老化/Ageing pipes; 小区改造/Estate renovation
食品药品|Food and drugs|48|4
	食品安全|Food safety|24: 无证经营餐饮/Unlicensed eatery; 过期食品/Expired food; 后厨卫生/Kitchen hygiene
	药品安全|Drug safety|48: 假劣药品/Counterfeit medicine; 无证药店/Unlicensed pharmacy
	市场监管|Market supervision|72: 价格欺诈/Price fraud; 缺斤短两/Short weight; 虚假宣传/False advertising
	农贸市场|Wet markets|48: 市场卫生/Market hygiene; 活禽宰杀/Live poultry slaughter; 摊位占道/Stall on road
公共卫生|Public health|24|5
	病媒生物|Disease vectors|48: 蚊虫孳生/Mosquito breeding; 鼠患/Rats; 蟑螂/Cockroaches
	传染病防控|Infectious disease|12: !疑似病例报告/Suspected case; 消杀需求/Disinfection request
	医疗服务|Medical services|72: 社康服务/Community health service; 医疗纠纷/Medical dispute
	犬只管理|Dogs|48: 无证养犬/Unlicensed dog; 遛狗不牵绳/Dog off leash; 流浪犬只/Stray dogs
教育文体|Education, culture and sport|72|3
	校园周边|School surroundings|48: 校园周边摊贩/Vendors near school; 学生安全隐患/Student safety risk
	文体设施|Sports and culture facilities|72: 健身器材损坏/Broken fitness equipment; 篮球场损坏/Damaged court; 图书馆服务/Library service
	校外培训|Tutoring|120: 违规校外培训/Illegal tutoring; 培训退费纠纷/Tutoring refund
	文化市场|Cultural market|72: 网吧违规/Internet cafe breach; 娱乐场所噪声/Entertainment noise
劳动社保|Labour and social security|120|3
	劳动保障|Labour rights|120: 拖欠工资/Unpaid wages; 未签劳动合同/No labour contract; 超时加班/Excessive overtime
	社会保险|Social insurance|120: 社保缴纳/Insurance contribution; 医保报销/Medical reimbursement
	就业服务|Employment|120: 就业咨询/Job enquiry; 技能培训/Skills training
	企业服务|Business services|120: 营商环境投诉/Business environment complaint; 政策咨询/Policy enquiry
应急管理|Emergencies|12|3
	自然灾害|Natural hazards|12: 台风隐患/Typhoon risk; 暴雨险情/Rainstorm danger; 高温中暑/Heat stroke
	突发事件|Incidents|6: 火情/Fire; 交通事故/Traffic accident; 人员受困/Trapped person
	应急物资|Emergency supplies|24: 避难场所/Shelter; 应急物资缺失/Missing supplies
	防汛防风|Flood and wind control|12: 广告牌松动/Loose billboard; 树木断枝/Broken branches; 临时设施加固/Temporary structure bracing`

// Categories returns the built-in taxonomy, parents before children.
func Categories() []Category {
	cats, err := parseTaxonomy(taxonomy)
	if err != nil {
		panic(err) // the built-in text is tested
	}
	return cats
}

func parseTaxonomy(text string) ([]Category, error) {
	var out []Category
	var l1, l2 int
	var l1Code string
	var l1Hours int
	var l1Weight float64
	var l1Start int
	finishL1 := func() {
		n := 0
		for _, c := range out[l1Start:] {
			if c.Level == 3 {
				n++
			}
		}
		for i := l1Start; i < len(out); i++ {
			if out[i].Level == 3 {
				out[i].Weight = l1Weight / float64(n)
			}
		}
	}
	for ln, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !strings.HasPrefix(line, "\t") {
			if l1 > 0 {
				finishL1()
			}
			f := strings.Split(line, "|")
			if len(f) != 4 {
				return nil, fmt.Errorf("taxonomy line %d: want name|en|hours|weight", ln+1)
			}
			h, err1 := strconv.Atoi(f[2])
			w, err2 := strconv.ParseFloat(f[3], 64)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("taxonomy line %d: bad hours or weight", ln+1)
			}
			l1++
			l2 = 0
			l1Code, l1Hours, l1Weight, l1Start = fmt.Sprintf("%02d", l1), h, w, len(out)
			out = append(out, Category{Code: l1Code, Level: 1, Name: f[0], NameEn: f[1], TimeLimitHours: h})
			continue
		}
		if l1 == 0 {
			return nil, fmt.Errorf("taxonomy line %d: level 2 before level 1", ln+1)
		}
		head, items, ok := strings.Cut(strings.TrimSpace(line), ":")
		f := strings.Split(head, "|")
		if !ok || len(f) != 3 {
			return nil, fmt.Errorf("taxonomy line %d: want name|en|hours: items", ln+1)
		}
		h, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("taxonomy line %d: bad hours: %w", ln+1, err)
		}
		if h <= 0 {
			h = l1Hours
		}
		l2++
		l2Code := fmt.Sprintf("%s%02d", l1Code, l2)
		l2At := len(out)
		out = append(out, Category{Code: l2Code, ParentCode: l1Code, Level: 2, Name: f[0], NameEn: f[1], TimeLimitHours: h, Sensitive: true})
		for i, it := range strings.Split(items, ";") {
			item, sensitive := strings.CutPrefix(strings.TrimSpace(it), "!")
			zh, en, ok := strings.Cut(item, "/")
			if !ok || zh == "" || en == "" {
				return nil, fmt.Errorf("taxonomy line %d: item %q: want zh/en", ln+1, it)
			}
			out = append(out, Category{Code: fmt.Sprintf("%s%02d", l2Code, i+1), ParentCode: l2Code, Level: 3, Name: zh, NameEn: en, TimeLimitHours: h, Sensitive: sensitive})
			out[l2At].Sensitive = out[l2At].Sensitive && sensitive
		}
	}
	if l1 > 0 {
		finishL1()
	}
	return out, nil
}
