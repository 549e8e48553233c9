"""Provinces and cities the generator swaps in. Short names: 省 / 市 stay in the text around them.

Municipalities count as cities (北京市, not 北京省). Autonomous regions are left out so a swap never
produces 广西省. Words that are also common words (长治久安, 安康, 日照, 朝阳, 中山路) are left out
so that finding places in the shipped text does not match ordinary words.
"""

from __future__ import annotations

PROVINCES = (
    "河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 云南 陕西 甘肃 青海"
).split()

CITIES = """
北京 天津 上海 重庆
石家庄 唐山 秦皇岛 邯郸 邢台 保定 张家口 承德 沧州 廊坊 衡水
太原 阳泉 晋城 朔州 晋中 运城 忻州 临汾 吕梁
沈阳 大连 鞍山 抚顺 本溪 丹东 锦州 营口 阜新 辽阳 盘锦 铁岭 葫芦岛
长春 四平 辽源 松原 白城 延吉
哈尔滨 齐齐哈尔 鸡西 鹤岗 双鸭山 大庆 佳木斯 七台河 牡丹江 绥化
南京 无锡 徐州 常州 苏州 南通 连云港 淮安 盐城 扬州 镇江 宿迁
杭州 宁波 温州 嘉兴 湖州 绍兴 金华 衢州 舟山 台州 丽水 义乌 永康 兰溪 武义 浦江
合肥 芜湖 蚌埠 淮南 马鞍山 淮北 铜陵 安庆 滁州 阜阳 宿州 亳州 池州 宣城
福州 厦门 莆田 泉州 漳州 南平 龙岩 宁德
南昌 景德镇 萍乡 九江 新余 鹰潭 赣州 宜春 抚州 上饶
济南 青岛 淄博 枣庄 东营 烟台 潍坊 济宁 泰安 威海 临沂 聊城 滨州 菏泽
郑州 开封 洛阳 平顶山 安阳 鹤壁 新乡 焦作 濮阳 许昌 漯河 三门峡 南阳 商丘 信阳 周口 驻马店
武汉 黄石 十堰 宜昌 襄阳 鄂州 荆门 孝感 荆州 黄冈 咸宁 随州
长沙 株洲 湘潭 衡阳 邵阳 岳阳 常德 张家界 益阳 郴州 永州 怀化 娄底
广州 韶关 深圳 珠海 汕头 佛山 江门 湛江 茂名 肇庆 惠州 梅州 汕尾 河源 阳江 清远 东莞 潮州 揭阳 云浮
海口 三亚
成都 自贡 攀枝花 泸州 德阳 绵阳 广元 遂宁 内江 乐山 南充 眉山 宜宾 广安 达州 雅安 巴中 资阳
贵阳 六盘水 遵义 毕节 铜仁
昆明 曲靖 玉溪 保山 昭通 丽江 临沧
西安 铜川 宝鸡 咸阳 渭南 延安 汉中 榆林 商洛
兰州 嘉峪关 天水 武威 张掖 平凉 酒泉 庆阳 陇南
西宁
""".split()
