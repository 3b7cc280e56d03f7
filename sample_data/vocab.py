"""Reference tables of the generated world: names, places, phone prefixes, interests.

Frequencies are plausible survey-like figures (surname shares after the 2020 census
publications, mobile prefixes of the three carriers and the 19x/16x/17x ranges); they are
not laws, only what makes the sample look like real Chinese customer data.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

# --- surnames: (simplified, pinyin, share in %) ------------------------------------------
SURNAMES: list[tuple[str, str, float]] = [
    ("王", "wang", 7.1), ("李", "li", 7.0), ("张", "zhang", 6.7), ("刘", "liu", 5.4), ("陈", "chen", 4.5),
    ("杨", "yang", 3.1), ("黄", "huang", 2.5), ("赵", "zhao", 2.0), ("吴", "wu", 2.0), ("周", "zhou", 1.9),
    ("徐", "xu", 1.3), ("孙", "sun", 1.2), ("马", "ma", 1.2), ("朱", "zhu", 1.1), ("胡", "hu", 1.0),
    ("郭", "guo", 0.97), ("何", "he", 0.96), ("高", "gao", 0.88), ("林", "lin", 0.87), ("罗", "luo", 0.85),
    ("郑", "zheng", 0.8), ("梁", "liang", 0.7), ("谢", "xie", 0.66), ("宋", "song", 0.62), ("唐", "tang", 0.6),
    ("许", "xu", 0.57), ("韩", "han", 0.55), ("冯", "feng", 0.54), ("邓", "deng", 0.53), ("曹", "cao", 0.52),
    ("彭", "peng", 0.49), ("曾", "zeng", 0.48), ("肖", "xiao", 0.47), ("田", "tian", 0.45), ("董", "dong", 0.44),
    ("袁", "yuan", 0.43), ("潘", "pan", 0.42), ("于", "yu", 0.41), ("蒋", "jiang", 0.4), ("蔡", "cai", 0.39),
    ("余", "yu", 0.38), ("杜", "du", 0.37), ("叶", "ye", 0.36), ("程", "cheng", 0.35), ("苏", "su", 0.34),
    ("魏", "wei", 0.33), ("吕", "lv", 0.32), ("丁", "ding", 0.31), ("任", "ren", 0.3), ("沈", "shen", 0.29),
    ("姚", "yao", 0.28), ("卢", "lu", 0.27), ("姜", "jiang", 0.26), ("崔", "cui", 0.25), ("钟", "zhong", 0.24),
    ("谭", "tan", 0.23), ("陆", "lu", 0.22), ("汪", "wang", 0.21), ("范", "fan", 0.2), ("金", "jin", 0.2),
    ("石", "shi", 0.19), ("廖", "liao", 0.18), ("贾", "jia", 0.17), ("夏", "xia", 0.16), ("韦", "wei", 0.16),
    ("付", "fu", 0.15), ("方", "fang", 0.15), ("白", "bai", 0.14), ("邹", "zou", 0.14), ("孟", "meng", 0.13),
    ("熊", "xiong", 0.13), ("秦", "qin", 0.12), ("邱", "qiu", 0.12), ("江", "jiang", 0.11), ("尹", "yin", 0.11),
    ("薛", "xue", 0.1), ("闫", "yan", 0.1), ("段", "duan", 0.1), ("雷", "lei", 0.1), ("侯", "hou", 0.1),
    ("龙", "long", 0.1), ("史", "shi", 0.1), ("陶", "tao", 0.09), ("黎", "li", 0.09), ("贺", "he", 0.09),
    ("顾", "gu", 0.09), ("毛", "mao", 0.09), ("郝", "hao", 0.08), ("龚", "gong", 0.08), ("邵", "shao", 0.08),
    ("万", "wan", 0.08), ("钱", "qian", 0.08), ("严", "yan", 0.07), ("覃", "qin", 0.07), ("武", "wu", 0.07),
    ("戴", "dai", 0.07), ("莫", "mo", 0.07), ("孔", "kong", 0.07), ("向", "xiang", 0.07), ("汤", "tang", 0.07),
    ("单", "shan", 0.05), ("解", "xie", 0.03), ("区", "ou", 0.02), ("仇", "qiu", 0.02), ("欧阳", "ouyang", 0.05),
    ("司马", "sima", 0.01), ("上官", "shangguan", 0.01), ("诸葛", "zhuge", 0.01),
]
# Hong Kong / Taiwan writers: the same surnames, other shares (陳 林 黃 are much commoner).
HKTW_BOOST = {"陈": 11.0, "林": 8.0, "黄": 6.0, "张": 5.0, "李": 5.0, "王": 4.0, "吴": 4.0, "刘": 3.0,
              "蔡": 3.0, "杨": 3.0, "何": 2.5, "梁": 2.5, "郑": 2.0, "许": 2.0, "谢": 2.0}

GIVEN_F = list("丽娜敏静秀娟英华慧巧美娅颖雪琳晶妍茜婷怡欣悦佳璐瑶萱涵梓琪雨馨诗梦洁蕾倩紫月彤晴媛妮菲芸婉琴露")
GIVEN_M = list("伟强磊军勇杰涛明超辉刚鹏浩宇轩航博文斌晨阳俊峰毅建平志国兴永林旭鑫凯昊然泽翔龙")
GIVEN_X = list("子思一嘉天宏晓小雅新家欣佳")  # either gender, often first character

HONORIFIC_M = "先生"
HONORIFIC_F = ("女士", "小姐")

# --- places: (province, city, GB/T 2260 city code, postcode, weight) ---------------------
CITIES: list[tuple[str, str, str, str, float]] = [
    ("北京", "北京", "1101", "100000", 6.0), ("上海", "上海", "3101", "200000", 6.5), ("天津", "天津", "1201", "300000", 2.5),
    ("重庆", "重庆", "5001", "400000", 3.0), ("广东", "广州", "4401", "510000", 5.0), ("广东", "深圳", "4403", "518000", 5.0),
    ("广东", "东莞", "4419", "523000", 2.0), ("广东", "佛山", "4406", "528000", 2.0), ("广东", "珠海", "4404", "519000", 0.8),
    ("浙江", "杭州", "3301", "310000", 3.8), ("浙江", "宁波", "3302", "315000", 1.8), ("浙江", "温州", "3303", "325000", 1.5),
    ("江苏", "南京", "3201", "210000", 2.8), ("江苏", "苏州", "3205", "215000", 2.8), ("江苏", "无锡", "3202", "214000", 1.4),
    ("江苏", "常州", "3204", "213000", 1.0), ("四川", "成都", "5101", "610000", 4.0), ("湖北", "武汉", "4201", "430000", 3.2),
    ("陕西", "西安", "6101", "710000", 2.8), ("湖南", "长沙", "4301", "410000", 2.4), ("河南", "郑州", "4101", "450000", 2.6),
    ("山东", "济南", "3701", "250000", 2.0), ("山东", "青岛", "3702", "266000", 2.1), ("辽宁", "沈阳", "2101", "110000", 1.9),
    ("辽宁", "大连", "2102", "116000", 1.5), ("黑龙江", "哈尔滨", "2301", "150000", 1.7), ("吉林", "长春", "2201", "130000", 1.5),
    ("福建", "福州", "3501", "350000", 1.6), ("福建", "厦门", "3502", "361000", 1.3), ("安徽", "合肥", "3401", "230000", 2.0),
    ("江西", "南昌", "3601", "330000", 1.4), ("云南", "昆明", "5301", "650000", 1.6), ("贵州", "贵阳", "5201", "550000", 1.2),
    ("广西", "南宁", "4501", "530000", 1.3), ("海南", "海口", "4601", "570000", 0.7), ("河北", "石家庄", "1301", "050000", 1.8),
    ("山西", "太原", "1401", "030000", 1.2), ("内蒙古", "呼和浩特", "1501", "010000", 0.8), ("甘肃", "兰州", "6201", "730000", 0.9),
    ("宁夏", "银川", "6401", "750000", 0.5), ("青海", "西宁", "6301", "810000", 0.4), ("新疆", "乌鲁木齐", "6501", "830000", 0.9),
    ("西藏", "拉萨", "5401", "850000", 0.2),
]
# Where Hong Kong / Taiwan writers live: at home or in the mainland cities they favour.
HK_CITIES = [("香港", "香港", "8100", "999077")]
TW_CITIES = [("台湾", "台北", "7101", "999079"), ("台湾", "高雄", "7102", "999079"), ("台湾", "台中", "7103", "999079")]
HKTW_MAINLAND = ("深圳", "上海", "厦门", "广州", "北京")

DISTRICTS = {
    "北京": ["朝阳区", "海淀区", "东城区", "西城区", "丰台区", "通州区"],
    "上海": ["浦东新区", "徐汇区", "静安区", "黄浦区", "闵行区", "长宁区"],
    "广州": ["天河区", "越秀区", "海珠区", "番禺区", "白云区"],
    "深圳": ["南山区", "福田区", "罗湖区", "宝安区", "龙岗区"],
    "杭州": ["西湖区", "上城区", "拱墅区", "滨江区", "余杭区"],
    "成都": ["锦江区", "武侯区", "青羊区", "成华区", "高新区"],
    "南京": ["鼓楼区", "玄武区", "秦淮区", "建邺区", "江宁区"],
    "武汉": ["江汉区", "武昌区", "洪山区", "江岸区"],
    "香港": ["中西区", "湾仔区", "油尖旺区", "沙田区"],
    "台北": ["大安区", "信义区", "中山区"],
}
GENERIC_DISTRICTS = ["高新区", "经开区", "新城区", "老城区", "城南区", "滨湖区"]
ROADS = ["人民路", "解放路", "中山路", "建设路", "和平路", "长江路", "文化路", "新华路", "学院路", "花园路",
         "迎宾大道", "东风路", "胜利街", "青年路", "滨江大道"]
ESTATES = ["阳光花园", "锦绣家园", "翠湖苑", "金色华庭", "幸福里", "蓝湾国际", "万科城", "碧桂园", "世纪新城", "绿地公馆"]

# --- phones --------------------------------------------------------------------------
# Every mobile prefix in use (China Mobile, Unicom, Telecom, Broadnet, virtual operators).
MOBILE_PREFIXES: list[tuple[str, float]] = (
    [(str(p), 3.0) for p in range(130, 140)]
    + [("145", 0.4), ("147", 0.6), ("149", 0.3)]
    + [(str(p), 2.5) for p in (150, 151, 152, 153, 155, 156, 157, 158, 159)]
    + [("162", 0.2), ("165", 0.2), ("166", 0.6), ("167", 0.2)]
    + [(str(p), 0.4) for p in (170, 171, 172, 173, 175, 176, 177, 178)]
    + [(str(p), 3.0) for p in range(180, 190)]
    + [(str(p), 0.8) for p in (190, 191, 192, 193, 195, 196, 197, 198, 199)]
)

# --- interests, life events, education, income ----------------------------------------
INTERESTS = ["beauty", "fashion", "travel", "health", "mother_baby", "cars", "food_snacks", "art", "plants",
             "tech", "sports", "pets", "games", "education", "finance", "home"]
INTEREST_ZH = {"beauty": "美妆", "fashion": "时尚", "travel": "旅行", "health": "健康", "mother_baby": "母婴",
               "cars": "汽车", "food_snacks": "美食零食", "art": "艺术", "plants": "多肉绿植", "tech": "数码",
               "sports": "运动", "pets": "萌宠", "games": "游戏", "education": "学习", "finance": "理财",
               "home": "家居"}
# base popularity for women / men (the brand's public is mostly female)
INTEREST_BASE_F = [0.55, 0.45, 0.40, 0.30, 0.15, 0.08, 0.45, 0.15, 0.15, 0.15, 0.20, 0.25, 0.12, 0.15, 0.12, 0.25]
INTEREST_BASE_M = [0.08, 0.15, 0.35, 0.30, 0.06, 0.35, 0.35, 0.10, 0.08, 0.45, 0.40, 0.18, 0.40, 0.15, 0.30, 0.15]
LIFE_EVENTS = ["wedding", "baby", "graduation", "moving", "new_job"]
EDUCATION = ["high_school", "college", "bachelor", "master_plus"]
INCOME = ["low", "mid", "high", "very_high"]
ELITE_SCHOOLS = ["北大", "清华", "复旦", "上海交大", "浙大", "南大", "中大", "武大", "北师大", "人大"]
OTHER_SCHOOLS = ["省师范", "财经学院", "理工大学", "职业技术学院", "外国语学院"]
JOBS_HIGH = ["投行", "律所合伙人", "外企高管", "互联网产品经理", "医生", "大学老师", "基金经理"]
JOBS_MID = ["HR", "会计", "设计师", "公务员", "工程师", "小学老师", "运营", "销售"]


@lru_cache(maxsize=1)
def brands() -> dict:
    """The brand lexicon of ``brands.yaml`` (own brand, competitors, products)."""
    with open(Path(__file__).with_name("brands.yaml"), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def weights(values) -> np.ndarray:
    """Normalised probability vector."""
    w = np.asarray(values, dtype=float)
    return w / w.sum()


@lru_cache(maxsize=1)
def to_traditional():
    """A cached simplified -> traditional (Taiwan/Hong Kong style) converter."""
    import opencc

    return opencc.OpenCC("s2t")


# Given-name readings written out, so generation does not pay for importing pypinyin.
_PINYIN = dict(zip(
    "丽娜敏静秀娟英华慧巧美娅颖雪琳晶妍茜婷怡欣悦佳璐瑶萱涵梓琪雨馨诗梦洁蕾倩紫月彤晴媛妮菲芸婉琴露"
    "伟强磊军勇杰涛明超辉刚鹏浩宇轩航博文斌晨阳俊峰毅建平志国兴永林旭鑫凯昊然泽翔龙子思一嘉天宏晓小雅新家",
    ("li na min jing xiu juan ying hua hui qiao mei ya ying xue lin jing yan qian ting yi xin yue jia lu yao xuan "
     "han zi qi yu xin shi meng jie lei qian zi yue tong qing yuan ni fei yun wan qin lu "
     "wei qiang lei jun yong jie tao ming chao hui gang peng hao yu xuan hang bo wen bin chen yang jun feng yi jian "
     "ping zhi guo xing yong lin xu xin kai hao ran ze xiang long zi si yi jia tian hong xiao xiao ya xin jia").split()))


@lru_cache(maxsize=1)
def char_pinyin() -> dict[str, str]:
    """Pinyin (no tones) for every given-name character of the vocabulary."""
    chars = set(GIVEN_F) | set(GIVEN_M) | set(GIVEN_X)
    missing = sorted(chars - set(_PINYIN))
    out = dict(_PINYIN)
    if missing:  # only when the vocabulary grows beyond the written-out readings
        from pypinyin import lazy_pinyin

        out.update({c: lazy_pinyin(c)[0] for c in missing})
    return out
