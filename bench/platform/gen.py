"""Seeded synthetic customer and contact files for the platform benchmark.

customers.csv: N customers, each with a primary contact (Chinese headers).
contacts.csv:  N more contacts, one per customer, by 统一社会信用代码.
"""
import random
import sys

n = int(sys.argv[1])
out = sys.argv[2]
rng = random.Random(20261123)
cities = ["南京", "苏州", "无锡", "常州", "杭州", "宁波", "温州", "上海", "合肥", "济南", "青岛", "广州", "深圳", "东莞", "佛山", "厦门"]
provinces = {"南京": "江苏", "苏州": "江苏", "无锡": "江苏", "常州": "江苏", "杭州": "浙江", "宁波": "浙江", "温州": "浙江", "上海": "上海",
             "合肥": "安徽", "济南": "山东", "青岛": "山东", "广州": "广东", "深圳": "广东", "东莞": "广东", "佛山": "广东", "厦门": "福建"}
brand = list("恒远华盛鑫源泰和宏达金瑞德丰永安瑞祥通达博远天成万嘉鼎信隆昌广宇新科海川明辉")
industry = ["钢业", "纺织", "电子", "食品", "物流", "建材", "化工", "贸易", "机械", "医药", "家具", "服饰", "茶业", "餐饮", "科技"]
surnames = list("王李张刘陈杨黄赵周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢")
given = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红")
titles = ["总经理", "采购经理", "财务总监", "销售主管", "董事长", "办公室主任"]

with open(f"{out}/customers.csv", "w", encoding="utf-8") as f, open(f"{out}/contacts.csv", "w", encoding="utf-8") as g:
    f.write("客户名称,统一社会信用代码,电话,省份,城市,行业,客户分类,联系人,手机,职务,生日\n")
    g.write("统一社会信用代码,姓名,手机,职务\n")
    for i in range(n):
        city = rng.choice(cities)
        b = rng.choice(brand) + rng.choice(brand)
        ind = rng.choice(industry)
        name = f"{city}{b}{ind}有限公司"
        code = f"91{i:016d}"
        phone = f"{rng.choice(['010', '021', '025', '0512', '0510', '0571', '0574', '0551', '0531', '020', '0755'])}-{rng.randint(20000000, 89999999)}"
        cls = rng.choices("ABCD", weights=[10, 20, 30, 40])[0]
        contact = rng.choice(surnames) + rng.choice(given) + rng.choice(given)
        mobile = f"13{i:09d}"
        birthday = f"19{rng.randint(50, 99)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        f.write(f"{name},{code},{phone},{provinces[city]},{city},{ind},{cls},{contact},{mobile},{rng.choice(titles)},{birthday}\n")
        other = rng.choice(surnames) + rng.choice(given)
        g.write(f"{code},{other},15{i:09d},{rng.choice(titles)}\n")
