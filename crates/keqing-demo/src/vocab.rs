//! Word lists the demo company is built from: places, brands, industries,
//! names, products. Plain data; the generator combines them.

/// A city with its province, telephone area code, administrative division
/// code (the 6 digits inside a unified social credit code) and districts.
#[derive(Debug)]
pub(crate) struct City {
    pub province: &'static str,
    pub city: &'static str,
    pub area_code: &'static str,
    pub division: &'static str,
    pub districts: &'static [&'static str],
    /// Relative number of customers from this city.
    pub weight: u32,
}

pub(crate) const CITIES: &[City] = &[
    City {
        province: "江苏",
        city: "南京",
        area_code: "025",
        division: "320100",
        districts: &[
            "玄武区",
            "秦淮区",
            "鼓楼区",
            "建邺区",
            "江宁区",
            "栖霞区",
            "浦口区",
        ],
        weight: 16,
    },
    City {
        province: "江苏",
        city: "苏州",
        area_code: "0512",
        division: "320500",
        districts: &[
            "姑苏区",
            "吴中区",
            "相城区",
            "工业园区",
            "昆山市",
            "张家港市",
        ],
        weight: 9,
    },
    City {
        province: "江苏",
        city: "无锡",
        area_code: "0510",
        division: "320200",
        districts: &["梁溪区", "滨湖区", "锡山区", "江阴市"],
        weight: 6,
    },
    City {
        province: "江苏",
        city: "常州",
        area_code: "0519",
        division: "320400",
        districts: &["天宁区", "武进区", "新北区"],
        weight: 4,
    },
    City {
        province: "江苏",
        city: "徐州",
        area_code: "0516",
        division: "320300",
        districts: &["鼓楼区", "云龙区", "铜山区"],
        weight: 3,
    },
    City {
        province: "浙江",
        city: "杭州",
        area_code: "0571",
        division: "330100",
        districts: &["西湖区", "上城区", "拱墅区", "滨江区", "萧山区", "余杭区"],
        weight: 13,
    },
    City {
        province: "浙江",
        city: "宁波",
        area_code: "0574",
        division: "330200",
        districts: &["海曙区", "鄞州区", "北仑区", "慈溪市"],
        weight: 6,
    },
    City {
        province: "浙江",
        city: "温州",
        area_code: "0577",
        division: "330300",
        districts: &["鹿城区", "龙湾区", "瑞安市", "乐清市"],
        weight: 4,
    },
    City {
        province: "浙江",
        city: "绍兴",
        area_code: "0575",
        division: "330600",
        districts: &["越城区", "柯桥区", "诸暨市"],
        weight: 3,
    },
    City {
        province: "浙江",
        city: "金华",
        area_code: "0579",
        division: "330700",
        districts: &["婺城区", "义乌市", "永康市"],
        weight: 3,
    },
    City {
        province: "上海",
        city: "上海",
        area_code: "021",
        division: "310100",
        districts: &["浦东新区", "闵行区", "嘉定区", "松江区", "徐汇区", "宝山区"],
        weight: 10,
    },
    City {
        province: "安徽",
        city: "合肥",
        area_code: "0551",
        division: "340100",
        districts: &["蜀山区", "包河区", "庐阳区", "瑶海区"],
        weight: 4,
    },
    City {
        province: "安徽",
        city: "芜湖",
        area_code: "0553",
        division: "340200",
        districts: &["镜湖区", "鸠江区"],
        weight: 2,
    },
    City {
        province: "安徽",
        city: "马鞍山",
        area_code: "0555",
        division: "340500",
        districts: &["花山区", "雨山区"],
        weight: 2,
    },
    City {
        province: "山东",
        city: "济南",
        area_code: "0531",
        division: "370100",
        districts: &["历下区", "槐荫区", "历城区"],
        weight: 3,
    },
    City {
        province: "山东",
        city: "青岛",
        area_code: "0532",
        division: "370200",
        districts: &["市南区", "黄岛区", "城阳区"],
        weight: 3,
    },
    City {
        province: "山东",
        city: "临沂",
        area_code: "0539",
        division: "371300",
        districts: &["兰山区", "河东区"],
        weight: 2,
    },
    City {
        province: "广东",
        city: "广州",
        area_code: "020",
        division: "440100",
        districts: &["天河区", "白云区", "番禺区", "黄埔区"],
        weight: 3,
    },
    City {
        province: "广东",
        city: "深圳",
        area_code: "0755",
        division: "440300",
        districts: &["南山区", "宝安区", "龙岗区", "福田区"],
        weight: 3,
    },
    City {
        province: "广东",
        city: "东莞",
        area_code: "0769",
        division: "441900",
        districts: &["长安镇", "虎门镇", "松山湖"],
        weight: 2,
    },
    City {
        province: "广东",
        city: "佛山",
        area_code: "0757",
        division: "440600",
        districts: &["顺德区", "南海区", "禅城区"],
        weight: 2,
    },
];

/// Brand words (字号) with their pinyin for web and mail domains.
pub(crate) const BRANDS: &[(&str, &str)] = &[
    ("恒远", "hengyuan"),
    ("华泰", "huatai"),
    ("鑫达", "xinda"),
    ("永盛", "yongsheng"),
    ("金帆", "jinfan"),
    ("瑞丰", "ruifeng"),
    ("宏图", "hongtu"),
    ("天成", "tiancheng"),
    ("德隆", "delong"),
    ("新宇", "xinyu"),
    ("中联", "zhonglian"),
    ("汇通", "huitong"),
    ("佳美", "jiamei"),
    ("嘉禾", "jiahe"),
    ("凯利", "kaili"),
    ("东方", "dongfang"),
    ("正大", "zhengda"),
    ("百川", "baichuan"),
    ("富源", "fuyuan"),
    ("海川", "haichuan"),
    ("兴业", "xingye"),
    ("长江", "changjiang"),
    ("金桥", "jinqiao"),
    ("同创", "tongchuang"),
    ("明阳", "mingyang"),
    ("远航", "yuanhang"),
    ("锦程", "jincheng"),
    ("祥和", "xianghe"),
    ("宏达", "hongda"),
    ("泰和", "taihe"),
    ("盛世", "shengshi"),
    ("博远", "boyuan"),
    ("华鑫", "huaxin"),
    ("立信", "lixin"),
    ("万通", "wantong"),
    ("天润", "tianrun"),
    ("联创", "lianchuang"),
    ("宝丰", "baofeng"),
    ("信达", "xinda"),
    ("安捷", "anjie"),
    ("启航", "qihang"),
    ("润华", "runhua"),
    ("聚源", "juyuan"),
    ("星辰", "xingchen"),
];

/// Foreign-invested companies use transliterated brand words.
pub(crate) const FOREIGN_BRANDS: &[(&str, &str)] = &[
    ("博力", "boli"),
    ("艾默", "aimo"),
    ("莱茵", "laiyin"),
    ("凯瑞斯", "kairuisi"),
    ("福斯特", "fusite"),
    ("史密斯", "shimisi"),
    ("松本", "songben"),
    ("三和", "sanhe"),
];

/// An industry: the words that end a company name (with their pinyin) and
/// the products it buys from the demo company.
pub(crate) struct Industry {
    pub name: &'static str,
    pub words: &'static [(&'static str, &'static str)],
    pub products: &'static [usize],
    /// Median order amount in yuan for a mid-sized customer.
    pub ticket_yuan: f64,
    pub weight: u32,
}

pub(crate) const INDUSTRIES: &[Industry] = &[
    Industry {
        name: "钢铁",
        words: &[("钢业", "steel"), ("钢铁", "steel"), ("金属制品", "metal")],
        products: &[0, 1, 2, 6, 7, 8],
        ticket_yuan: 9000.0,
        weight: 8,
    },
    Industry {
        name: "纺织",
        words: &[
            ("纺织", "textile"),
            ("服饰", "fashion"),
            ("织造", "weaving"),
        ],
        products: &[3, 4, 6, 7, 13],
        ticket_yuan: 2500.0,
        weight: 9,
    },
    Industry {
        name: "电子",
        words: &[("电子", "elec"), ("电子科技", "etech"), ("光电", "opto")],
        products: &[9, 10, 3, 4, 13, 14],
        ticket_yuan: 4000.0,
        weight: 9,
    },
    Industry {
        name: "食品",
        words: &[("食品", "food"), ("食品科技", "foodtech")],
        products: &[11, 12, 3, 4, 5, 7],
        ticket_yuan: 2200.0,
        weight: 8,
    },
    Industry {
        name: "物流",
        words: &[
            ("物流", "logistics"),
            ("供应链管理", "scm"),
            ("运输", "trans"),
        ],
        products: &[3, 4, 5, 6, 7, 8],
        ticket_yuan: 1800.0,
        weight: 7,
    },
    Industry {
        name: "建材",
        words: &[
            ("建材", "jiancai"),
            ("新型建材", "jiancai"),
            ("装饰材料", "deco"),
        ],
        products: &[0, 1, 5, 7, 8],
        ticket_yuan: 5000.0,
        weight: 8,
    },
    Industry {
        name: "化工",
        words: &[("化工", "chem"), ("新材料", "material")],
        products: &[2, 6, 7, 8, 3],
        ticket_yuan: 4500.0,
        weight: 6,
    },
    Industry {
        name: "零售",
        words: &[("商贸", "trade"), ("超市", "mart"), ("百货", "store")],
        products: &[11, 12, 3, 13, 14],
        ticket_yuan: 1500.0,
        weight: 9,
    },
    Industry {
        name: "餐饮",
        words: &[("餐饮管理", "catering"), ("酒店管理", "hotel")],
        products: &[11, 12, 13, 7],
        ticket_yuan: 1200.0,
        weight: 7,
    },
    Industry {
        name: "机械",
        words: &[("机械", "machinery"), ("机电设备", "mech")],
        products: &[1, 2, 6, 7, 8, 9],
        ticket_yuan: 5500.0,
        weight: 6,
    },
];

/// Industries of institutions and government offices (not enterprises).
pub(crate) const INDUSTRY_HEALTH: &str = "医疗卫生";
pub(crate) const INDUSTRY_EDUCATION: &str = "教育";
pub(crate) const INDUSTRY_GOVERNMENT: &str = "公共管理";
pub(crate) const PUBLIC_SECTOR_PRODUCTS: &[usize] = &[13, 14, 7, 5];

/// What the demo company sells: name and list price in fen.
pub(crate) const PRODUCTS: &[(&str, i64)] = &[
    ("热轧卷板（吨）", 420_000),
    ("镀锌板（吨）", 510_000),
    ("不锈钢板（吨）", 1_580_000),
    ("瓦楞纸箱（百只）", 26_000),
    ("缠绕膜（卷）", 4_500),
    ("塑料托盘（只）", 12_000),
    ("工业润滑油（桶）", 88_000),
    ("劳保手套（箱）", 15_000),
    ("安全帽（只）", 3_500),
    ("电子元器件（千只）", 32_000),
    ("通信模组（片）", 5_800),
    ("食用油（箱）", 16_800),
    ("东北大米（袋）", 9_500),
    ("办公用品套装", 30_000),
    ("打印耗材（套）", 45_000),
    ("日用百货礼包", 19_900),
];

/// Products an individual customer buys.
pub(crate) const RETAIL_PRODUCTS: &[usize] = &[11, 12, 13, 15];

pub(crate) const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏",
    "顾", "钱", "严", "戴", "孔", "汤", "欧阳", "诸葛",
];

pub(crate) const GIVEN_NAMES: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "建国", "建华", "志强", "海燕", "晓东", "文", "斌",
    "宇", "浩", "婷", "雪", "琳", "鹏", "辉", "华", "玲", "红", "飞", "波", "健", "俊", "凯", "欣",
    "悦", "晨", "佳", "颖", "慧", "春梅", "国庆", "海涛", "建军", "丹", "萍", "志明", "丽华",
    "晓燕", "子涵", "雨欣", "浩然", "思远", "文静", "永强", "德明", "玉兰", "亚楠",
];

pub(crate) const STREETS: &[&str] = &[
    "中山路",
    "人民路",
    "解放路",
    "建设路",
    "和平路",
    "长江路",
    "黄河路",
    "新华路",
    "工业园路",
    "科技大道",
    "开发区大道",
    "滨江大道",
    "胜利路",
    "文化路",
    "东环路",
    "迎宾大道",
    "创业路",
    "兴业路",
    "振兴路",
    "经济技术开发区纬三路",
    "高新路",
    "湖滨路",
    "金融街",
    "青年路",
];

pub(crate) const HOBBIES: &[&str] = &[
    "钓鱼",
    "高尔夫",
    "茶道",
    "书法",
    "摄影",
    "跑步",
    "羽毛球",
    "乒乓球",
    "登山",
    "旅游",
    "围棋",
    "收藏紫砂壶",
    "红酒",
    "健身",
    "瑜伽",
    "美食",
    "看足球",
    "太极拳",
    "京剧",
    "骑行",
];

pub(crate) const DECISION_TITLES: &[&str] = &["董事长", "总经理", "副总经理", "总裁"];
pub(crate) const IN_CHARGE_TITLES: &[&str] = &[
    "采购部经理",
    "采购主管",
    "财务总监",
    "行政部经理",
    "生产厂长",
    "物流经理",
    "供应链总监",
];
pub(crate) const EXECUTOR_TITLES: &[&str] = &[
    "采购专员",
    "采购员",
    "仓库主管",
    "行政助理",
    "会计",
    "跟单员",
];
pub(crate) const PUBLIC_DECISION_TITLES: &[&str] = &["院长", "局长", "主任"];
pub(crate) const PUBLIC_IN_CHARGE_TITLES: &[&str] =
    &["设备科科长", "办公室主任", "财务科科长", "后勤处处长"];
pub(crate) const PUBLIC_EXECUTOR_TITLES: &[&str] = &["科员", "采购员", "办事员"];

/// Government offices a demo company sells office supplies to.
pub(crate) const AGENCIES: &[&str] = &[
    "市场监督管理局",
    "教育局",
    "交通运输局",
    "卫生健康委员会",
    "住房和城乡建设局",
    "税务局",
];

pub(crate) const TAGS: &[&str] = &[
    "老客户",
    "价格敏感",
    "账期客户",
    "年底集中采购",
    "大单",
    "展会获客",
    "需回访",
    "竞品在用",
    "转介绍",
    "样品试用",
    "电商客户",
    "季节性采购",
];

pub(crate) const RECENT_EVENTS: &[&str] = &[
    "公司刚搬进新厂房",
    "董事长女儿今年高考",
    "刚拿下一笔政府订单",
    "采购经理刚升职",
    "上月通过了ISO9001认证",
    "老板母亲住院，已探望",
    "新开了两家门店",
    "正在筹备上市",
];

pub(crate) const PROGRESS: &[&str] = &[
    "正在洽谈年度框架协议",
    "样品已送检，等待结果",
    "报价已发，客户在比价",
    "下季度有扩产计划",
    "付款流程改为月结",
    "新项目招标中",
];

pub(crate) const TABOOS: &[&str] = &[
    "忌送钟表",
    "不喝酒，宴请以茶代酒",
    "回族，宴请注意清真",
    "不喜欢电话推销，先发微信",
    "数字4忌讳",
    "午休时间勿打电话",
];

pub(crate) const CONTACT_TIMES: &[&str] = &[
    "工作日上午",
    "工作日下午三点后",
    "周末勿扰",
    "中午十二点前",
    "随时微信",
];

/// Gifts with their value in yuan.
pub(crate) const GIFTS: &[(&str, i64)] = &[
    ("中秋月饼礼盒", 298),
    ("明前龙井茶", 480),
    ("南京盐水鸭（土特产）", 168),
    ("公司定制台历", 35),
    ("定制保温杯", 88),
    ("阳澄湖大闸蟹券", 588),
];

/// Gifts that suit a hobby, with their value in yuan.
pub(crate) const HOBBY_GIFTS: &[(&str, (&str, i64))] = &[
    ("钓鱼", ("钓鱼用品套装", 260)),
    ("高尔夫", ("高尔夫球", 320)),
    ("茶道", ("紫砂茶具", 420)),
    ("书法", ("湖笔徽墨套装", 380)),
    ("羽毛球", ("羽毛球拍", 360)),
    ("摄影", ("相机背包", 299)),
    ("红酒", ("进口红酒", 398)),
    ("跑步", ("运动手环", 249)),
];

pub(crate) const TOPICS: &[&str] = &[
    "下季度采购计划",
    "价格调整",
    "交货期",
    "回款进度",
    "新产品试用",
    "年度框架协议",
    "售后问题",
    "库存情况",
    "招标信息",
    "发票开具",
];

/// Real leap months (year, month) of the Chinese calendar, for leap-month birthdays.
pub(crate) const LEAP_MONTHS: &[(i32, u32)] = &[
    (1963, 4),
    (1966, 3),
    (1968, 7),
    (1971, 5),
    (1974, 4),
    (1976, 8),
    (1979, 6),
    (1982, 4),
    (1984, 10),
    (1987, 6),
    (1990, 5),
    (1993, 3),
    (1995, 8),
    (1998, 5),
];
