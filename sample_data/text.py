"""Post texts with a true sentiment label.

The label is chosen first (from the author's attitude to the brand, or the topic) and the
text is then *built* to express it through one of several constructions: plain polar
phrases, negated phrases (不好用 / 居然没有过敏), contrast clauses where the part after
但是/不过 decides, sarcasm ([微笑] on Weibo is rarely a smile) and emoticons that point the
wrong way (好用到哭[泪], 笑死又过敏了[哈哈]).  No single token gives the label away.
"""

from __future__ import annotations

import random

from . import vocab

POS = ["真的很好用", "保湿效果绝了", "上脸很服帖", "味道好好闻", "回购好几次了", "性价比很高", "用完皮肤嫩嫩的",
       "颜值超高", "持妆一整天都没脱妆", "敏感肌用着也很舒服", "包装很精致，送人很有面子", "客服小姐姐超耐心",
       "物流超快，隔天就到", "吸收很快一点不黏", "涂上气色好了很多", "这个价格能买到这种品质很值"]
NEG = ["用完脸上爆痘了", "味道太冲了", "完全没效果", "卡粉卡得厉害", "客服态度太差", "等了一周还没发货",
       "怀疑买到假货", "又偷偷涨价了", "用两天就过敏了", "质量越来越差", "跟宣传的完全不一样", "退货拖了半个月",
       "搓泥严重", "瓶子第一次用就坏了", "干到起皮"]
NEG_NEGATED = ["一点都不好用", "并没有说的那么好", "不怎么保湿", "没感觉有什么效果", "不会再回购了",
               "没有想象中好用", "不值这个价"]
POS_NEGATED = ["居然没有过敏", "一点也不油腻", "完全不搓泥", "不假白", "没有让我失望", "不踩雷", "不会闷痘"]
NEU = ["今天到货了", "有人用过吗", "求问适合油皮吗", "打算囤一点", "专柜和网上价格一样吗", "刚下单，等收货",
       "还在观望", "想问下保质期多久", "跟{comp}比哪个好", "看到直播间在推", "柜姐推荐的，还没开始用"]
BALANCED = ["中规中矩吧", "有好有坏吧", "说不上好也说不上坏", "还行，没有惊喜", "一般般，看个人肤质"]
SARCASM = ["呵呵，真是好用到哭", "太棒了，又发错货了", "谢谢你啊，让我的脸又红又痒", "这保湿效果，绝了，干到起皮",
           "可真是“贵妇级”体验，用完直接烂脸", "好评，好到我再也不想买了"]
OPENERS = ["", "", "", "姐妹们！", "救命，", "说实话，", "讲真，", "家人们，", "不吹不黑，", "分享一下，", "记录一下："]
CONTRAST = ["，但是", "，不过", "，可惜", "，就是"]
CONCEDE = ["虽然", "尽管"]
EMO_POS = ["[哈哈]", "[爱你]", "[赞]", "[心]", "[太开心]", "[鼓掌]", "[馋嘴]", "[嘻嘻]", "[微笑]"]
EMO_NEG = ["[怒]", "[泪]", "[衰]", "[抓狂]", "[吐]", "[生病]", "[伤心]", "[哼]"]
EMO_AMBIG = ["[doge]", "[允悲]", "[二哈]", "[费解]", "[思考]", "[吃瓜]"]
TAGS = ["#好物分享#", "#护肤#", "#美妆#", "#种草#", "#今日份护肤#", "#拔草#", "#测评#"]
URLS = ["http://t.cn/A6", "https://weibo.com/ttarticle/p/show?id=230940"]
SOURCES = ["iPhone客户端", "Android客户端", "微博 weibo.com", "HUAWEI Mate 60 Pro", "小米14 Ultra", "iPad客户端",
           "OPPO Find X7", "vivo X100"]

TOPIC = {  # interest -> (positive, negative, neutral) templates; {place} {food} {thing} filled in
    "travel": (["终于到了{place}，风景太美了", "{place}的日落绝了，不虚此行"], ["{place}人山人海，排队两小时", "在{place}被宰了，再也不来"],
               ["下周去{place}，求攻略", "{place}和{place2}选哪个"]),
    "food_snacks": (["这家{food}绝了，必须安利", "新买的零食太好吃了，停不下来"], ["外卖又送错了", "排队一小时的{food}，难吃到哭"],
                    ["今天吃什么好", "有没有好吃的{food}推荐"]),
    "plants": (["我的多肉又爆盆了", "新入的多肉颜色好美"], ["多肉黑腐了，心疼", "绿萝又黄叶了，养啥死啥"], ["多肉夏天要断水吗", "求推荐好养的绿植"]),
    "art": (["今天去看了展，很受触动", "美术馆的新展值得一去"], ["展览排队太久还不让拍照", "这个展门票贵内容少"], ["周末有什么展推荐", "在学油画第三周"]),
    "pets": (["我家猫今天特别乖", "狗子学会握手了"], ["猫又把花瓶打碎了", "狗子生病了，好担心"], ["猫粮求推荐", "新手养猫要准备什么"]),
    "sports": (["今天跑了十公里，舒服", "健身打卡第一百天"], ["跑步膝盖又疼了", "健身卡办了一年去了三次"], ["有一起打羽毛球的吗", "晨跑还是夜跑好"]),
    "games": (["终于上王者了", "新出的游戏太好玩了"], ["又被队友坑了", "更新后卡成PPT"], ["今晚开黑吗", "这个游戏值得入吗"]),
    "tech": (["新手机拍照真的强", "降噪耳机太香了"], ["手机用一年就卡", "系统更新后耗电好快"], ["预算三千买什么手机", "发布会几点开始"]),
    "finance": (["基金终于回本了", "年终奖到账，开心"], ["基金又绿了", "房贷压力好大"], ["定投还是一次性买", "今年理财收益多少"]),
    "mother_baby": (["宝宝今天会叫妈妈了", "这款奶粉宝宝很爱喝"], ["宝宝半夜哭闹，一夜没睡", "纸尿裤又红屁屁了"],
                    ["宝宝辅食怎么加", "求推荐婴儿车"]),
    "cars": (["提了新车，开心", "自驾游回来，车子很给力"], ["车被刮了，心累", "堵车两小时"], ["新能源还是油车", "周末去看车"]),
    "education": (["考试过了！", "今天学了六个小时，充实"], ["论文又被打回来了", "考研好难"], ["雅思怎么备考", "图书馆占座"]),
    "home": (["新买的沙发太舒服了", "收拾完房间心情变好"], ["装修师傅又拖工期", "楼上装修吵死了"], ["求推荐扫地机器人", "窗帘选什么颜色"]),
    "health": (["坚持早睡一个月，气色变好了", "体检结果全部正常"], ["又失眠了", "颈椎病犯了"], ["养生茶怎么搭配", "每天喝多少水合适"]),
    "fashion": (["新买的裙子好好看", "今天的穿搭被夸了"], ["网购衣服色差太大", "鞋子磨脚"], ["秋天穿什么", "这件外套配什么裤子"]),
    "beauty": (["今天的妆很满意", "新学的眼妆成功了"], ["又长痘了", "换季皮肤好干"], ["油皮用什么粉底", "卸妆油和卸妆水哪个好"]),
}
PLACES = ["大理", "三亚", "成都", "西安", "厦门", "青岛", "丽江", "重庆", "杭州", "东京", "曼谷", "巴黎"]
FOODS = ["火锅", "烤肉", "奶茶", "螺蛳粉", "小龙虾", "蛋糕", "烧烤", "拉面"]
CHATTER = ([("周末愉快", "pos"), ("今天天气真好", "pos"), ("终于下班了", "pos")],
           [("又加班到十点", "neg"), ("地铁挤死了", "neg"), ("好累，不想上班", "neg")],
           [("下雨了", "neu"), ("今天星期几来着", "neu"), ("早", "neu"), ("晚安", "neu")])
EVENT_TEXT = {
    "wedding": [("今天领证啦！余生请多指教", "pos", "#我们结婚啦#"), ("婚礼终于办完了，累但是很幸福", "pos", "#婚礼#"),
                ("筹备婚礼筹备到崩溃", "neg", "#婚礼#")],
    "baby": [("欢迎小宝贝来到这个世界", "pos", "#宝宝出生#"), ("当妈第一周，一天只睡三小时", "neg", "#新手妈妈#")],
    "graduation": [("毕业快乐！再见了{school}", "pos", "#毕业季#"), ("毕业即失业", "neg", "#毕业季#")],
    "moving": [("搬到{city}新家啦", "pos", "#乔迁之喜#"), ("终于搬完家了，累瘫", "neg", "#搬家#"), ("下周搬家，东西好多", "neu", "#搬家#")],
    "new_job": [("入职新公司第一天，加油", "pos", "#新工作#"), ("新工作适应不了，好焦虑", "neg", "#新工作#")],
}
REPOST_COMMENTS = (["冲！", "已买，真的好用", "支持", "太喜欢了", "转发抽奖，求中"],
                   ["别买，我用了过敏", "又来割韭菜", "广告吧", "呵呵"],
                   ["转发微博", "mark", "码住", "蹲一个", "@朋友 看看这个"])


class Composer:
    """Builds post texts; one instance per chunk (holds the random stream)."""

    def __init__(self, rng: random.Random) -> None:
        self.r = rng
        b = vocab.brands()
        self.own = b["own"]
        self.comps = b["competitors"]

    def _emo(self, label: str) -> str:
        r = self.r.random()
        if r < 0.35:
            return ""
        if r < 0.55:
            return self.r.choice(EMO_AMBIG)
        return self.r.choice(EMO_POS if label == "pos" else EMO_NEG if label == "neg" else EMO_AMBIG)

    def polar(self, label: str, comp_name: str) -> str:
        """A clause expressing ``label`` through a randomly chosen construction."""
        r, c = self.r.random(), self.r.choice
        if label == "pos":
            if r < 0.45:
                return c(POS) + self._emo("pos")
            if r < 0.6:
                return c(POS_NEGATED) + self._emo("pos")
            if r < 0.8:
                return c(CONCEDE) + c(NEG) + "，" + c(["不过", "但是"]) + c(POS) + self._emo("pos")
            return c(POS) + "，好用到哭[泪]" if r < 0.9 else "比" + comp_name + "好用多了" + self._emo("pos")
        if label == "neg":
            if r < 0.4:
                return c(NEG) + self._emo("neg")
            if r < 0.58:
                return c(NEG_NEGATED) + self._emo("neg")
            if r < 0.78:
                return c(POS) + c(CONTRAST) + c(NEG) + self._emo("neg")
            if r < 0.93:
                return c(SARCASM) + c(["[微笑]", "[微笑]", "[允悲]", "[good]"])
            return "笑死，" + c(NEG) + "[哈哈]"
        if r < 0.65:
            return c(NEU).format(comp=comp_name) + c(["", "", "？", "[思考]", "[费解]"])
        if r < 0.85:
            return c(BALANCED) + c(["", "[吃瓜]", "[doge]"])
        return c(POS) + "，" + c(NEG) + "，" + c(["看个人吧", "自己权衡", "见仁见智"])

    def brand_post(self, label: str, own: bool, campaign_tag: str | None) -> tuple[str, list[str]]:
        """A post about the own brand (or a competitor) with the given sentiment."""
        c = self.r.choice
        comp = c(self.comps)
        if own:
            p = c(self.own["products"])
            alias = c(self.own["aliases"])
            ref = alias + (p["short"] if self.r.random() < 0.7 else "")
            brands = [self.own["name"]]
            other = comp["name"]
        else:
            alias = c(comp["aliases"])
            ref = c(comp["products"]) if self.r.random() < 0.6 else alias
            brands = [comp["name"]]
            other = self.own["name"]
        body = self.polar(label, other)
        if other in body:
            brands.append(other)
        text = c(OPENERS) + c(["", "入了", "用了一周", "第一次买", "朋友送的"]) + ref + "，" + body
        tags = []
        if self.r.random() < 0.5:
            tags.append("#" + (self.own["name"] if own else comp["name"]) + "#")
        if self.r.random() < 0.35:
            tags.append(c(TAGS))
        if campaign_tag and self.r.random() < 0.6:
            tags.append(campaign_tag)
        tail = ""
        if own and self.r.random() < 0.15:
            tail += " @" + self.own["official_weibo"]
        if self.r.random() < 0.08:
            tail += " " + c(URLS) + "".join(c("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789")
                                           for _ in range(5))
        pos = self.r.random()
        tagtxt = "".join(tags)
        text = (tagtxt + text + tail) if pos < 0.3 else (text + tagtxt + tail)
        return text[:140], brands

    def topic_post(self, interest: str, label: str, city: str, school: str) -> str:
        pos_t, neg_t, neu_t = TOPIC.get(interest, TOPIC["food_snacks"])
        tpl = self.r.choice(pos_t if label == "pos" else neg_t if label == "neg" else neu_t)
        text = tpl.format(place=self.r.choice(PLACES), place2=self.r.choice(PLACES), food=self.r.choice(FOODS),
                          city=city, school=school)
        tag = "#" + vocab.INTEREST_ZH[interest] + "#" if self.r.random() < 0.3 else ""
        return text + self._emo(label) + tag

    def chatter(self) -> tuple[str, str]:
        group = self.r.choice(CHATTER)
        text, label = self.r.choice(group)
        return text + self._emo(label), label

    def event_post(self, event: str, city: str, school: str) -> tuple[str, str]:
        text, label, tag = self.r.choice(EVENT_TEXT[event])
        return text.format(city=city, school=school) + self._emo(label) + tag, label

    def repost_comment(self, label: str) -> str:
        pos, neg, neu = REPOST_COMMENTS
        return self.r.choice(pos if label == "pos" else neg if label == "neg" else neu)
