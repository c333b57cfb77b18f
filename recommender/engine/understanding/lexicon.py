"""Built-in bilingual vocabulary: attribute synonyms, domain words, cue words and a small zh→en keyword glossary.

Synonyms name a canonical value; the catalog index keeps only those whose value the catalog actually holds.
"""
from __future__ import annotations

# attribute -> canonical value -> surface forms (English lower-case, Chinese as written)
ATTRIBUTE_SYNONYMS: dict[str, dict[str, list[str]]] = {
    "genres": {
        "Action": ["action", "action-packed", "动作", "动作片", "打斗"],
        "Adventure": ["adventure", "adventures", "冒险", "冒险片", "探险"],
        "Animation": ["animation", "animated", "cartoon", "cartoons", "anime", "pixar", "动画", "动画片", "卡通", "动漫", "动画电影"],
        "Children's": ["kids", "kid", "children", "children's", "childrens", "for my son", "for my daughter",
                       "family friendly", "family-friendly", "whole family", "family movie", "family movies",
                       "family film", "family films", "全家", "合家欢", "一家人", "儿童", "儿童片", "孩子", "小孩", "少儿", "小朋友"],
        "Comedy": ["comedy", "comedies", "funny", "hilarious", "humor", "humour", "laugh", "喜剧", "喜剧片", "搞笑", "好笑", "幽默"],
        "Crime": ["crime", "gangster", "gangsters", "mafia", "mob", "heist", "犯罪", "犯罪片", "黑帮", "警匪"],
        "Documentary": ["documentary", "documentaries", "docs", "纪录片", "纪录"],
        "Drama": ["drama", "dramas", "剧情", "剧情片"],
        "Fantasy": ["fantasy", "magic", "magical", "奇幻", "魔幻", "魔法"],
        "Film-Noir": ["film noir", "film-noir", "noir", "黑色电影"],
        "Horror": ["horror", "scary", "spooky", "creepy", "frightening", "slasher", "恐怖", "恐怖片", "鬼片", "吓人"],
        "Musical": ["musical", "musicals", "歌舞", "歌舞片", "音乐剧"],
        "Mystery": ["mystery", "mysteries", "whodunit", "detective", "悬疑", "悬疑片", "推理", "侦探"],
        "Romance": ["romance", "romantic", "romcom", "rom-com", "love story", "love stories", "爱情", "爱情片", "浪漫"],
        "Sci-Fi": ["sci-fi", "scifi", "sci fi", "science fiction", "science-fiction", "科幻", "科幻片"],
        "Thriller": ["thriller", "thrillers", "suspense", "suspenseful", "惊悚", "惊悚片"],
        "War": ["war", "war movie", "war movies", "war film", "war films", "wartime", "战争", "战争片", "二战"],
        "Western": ["western", "westerns", "cowboy", "cowboys", "西部", "西部片", "牛仔片"],
        # Books, music and games write genres in lower case; these name theirs.
        "rock": ["rock", "rock music", "摇滚", "摇滚乐"], "pop": ["pop", "pop music", "流行", "流行音乐", "流行歌"],
        "jazz": ["jazz", "爵士", "爵士乐"], "classical": ["classical", "classical music", "古典", "古典音乐"],
        "electronic": ["electronic", "edm", "电子", "电子乐", "电子音乐"], "folk": ["folk", "民谣"],
        "hip-hop": ["hip-hop", "hip hop", "rap", "说唱", "嘻哈"], "soundtrack": ["soundtrack", "score", "原声", "配乐"],
        "r&b": ["r&b", "rnb", "节奏布鲁斯"], "soul": ["soul", "灵魂乐"], "ambient": ["ambient", "氛围音乐"],
        "dance": ["dance music", "舞曲"], "mandopop": ["mandopop", "华语流行"], "cantopop": ["cantopop", "粤语歌"],
        "strategy": ["strategy", "策略"], "puzzle": ["puzzle", "puzzles", "解谜", "益智"], "racing": ["racing", "赛车"],
        "shooter": ["shooter", "fps", "射击"], "simulation": ["simulation", "sim", "模拟", "模拟经营"],
        "rpg": ["rpg", "role-playing", "角色扮演"], "survival": ["survival", "生存"], "sandbox": ["sandbox", "沙盒"],
        "platformer": ["platformer", "平台跳跃"], "open world": ["open world", "open-world", "开放世界"],
        "multiplayer": ["multiplayer", "多人"], "co-op": ["co-op", "coop", "cooperative", "合作"],
        "family": ["family", "family-friendly", "family friendly", "whole family", "全家", "合家欢", "一家人", "亲子"], "party": ["party", "派对", "聚会"],
        "roguelike": ["roguelike", "肉鸽"], "indie": ["indie", "独立游戏"], "farming": ["farming", "种田"],
        "dystopia": ["dystopia", "dystopian", "反乌托邦"], "cyberpunk": ["cyberpunk", "赛博朋克"],
        "nonfiction": ["nonfiction", "non-fiction", "非虚构"], "history": ["history", "historical", "历史"],
        "science": ["popular science", "科普"], "classic": ["classics", "经典"],
        "magical realism": ["magical realism", "魔幻现实主义"], "literary fiction": ["literary fiction", "纯文学"],
        "short stories": ["short stories", "短篇小说"],
    },
    "category": {
        "dress": ["dress", "dresses", "gown", "连衣裙", "长裙", "礼服"],
        "skirt": ["skirt", "skirts", "半身裙", "短裙", "裙子"],
        "t-shirt": ["t-shirt", "t-shirts", "tshirt", "tshirts", "t shirt", "t shirts", "tee", "tees", "t恤", "体恤", "短袖"],
        "shirt": ["shirt", "shirts", "blouse", "blouses", "衬衫", "衬衣"],
        "jeans": ["jeans", "牛仔裤"],
        "trousers": ["trousers", "pants", "chinos", "裤子", "长裤", "休闲裤"],
        "shorts": ["shorts", "短裤"],
        "jacket": ["jacket", "jackets", "夹克", "外套"],
        "coat": ["coat", "coats", "overcoat", "trench coat", "大衣", "风衣"],
        "sweater": ["sweater", "sweaters", "jumper", "jumpers", "pullover", "cardigan", "毛衣", "针织衫", "开衫"],
        "hoodie": ["hoodie", "hoodies", "sweatshirt", "卫衣"],
        "sneakers": ["sneakers", "sneaker", "trainers", "running shoes", "运动鞋", "球鞋", "跑鞋"],
        "boots": ["boots", "boot", "靴子", "靴", "短靴", "长靴"],
        "sandals": ["sandals", "sandal", "flip flops", "凉鞋", "拖鞋"],
        "shoes": ["shoes", "shoe", "heels", "loafers", "鞋", "鞋子", "皮鞋", "高跟鞋"],
        "backpack": ["backpack", "backpacks", "rucksack", "背包", "双肩包"],
        "bag": ["bag", "bags", "handbag", "handbags", "purse", "tote", "包", "手提包", "包包", "挎包"],
        "scarf": ["scarf", "scarves", "围巾", "丝巾"],
        "hat": ["hat", "hats", "cap", "caps", "beanie", "帽子", "棒球帽"],
        "socks": ["socks", "sock", "袜子"],
        "watch": ["watch", "watches", "手表"],
        "sunglasses": ["sunglasses", "shades", "墨镜", "太阳镜"],
        "swimsuit": ["swimsuit", "swimwear", "bikini", "泳衣", "泳装"],
        "pajamas": ["pajamas", "pyjamas", "睡衣"],
        "gloves": ["gloves", "glove", "mittens", "手套"], "headphones": ["headphones", "headphone", "earphones", "earbuds", "headset", "耳机"],
        "phone case": ["phone case", "phone cover", "手机壳"], "charger": ["charger", "chargers", "充电器", "充电头"],
        "mug": ["mug", "mugs", "马克杯", "杯子"], "kettle": ["kettle", "kettles", "电热水壶", "水壶", "烧水壶"],
        "pan": ["pan", "pans", "frying pan", "skillet", "平底锅", "煎锅", "锅"], "water bottle": ["water bottle", "bottle", "水杯", "水瓶", "保温杯"],
        "tent": ["tent", "tents", "帐篷"], "sleeping bag": ["sleeping bag", "sleeping bags", "睡袋"],
        "camping chair": ["camping chair", "folding chair", "露营椅", "折叠椅"],
    },
    "color": {
        "red": ["red", "红色", "红的"], "black": ["black", "黑色"], "white": ["white", "白色"],
        "blue": ["blue", "蓝色"], "navy": ["navy", "藏青", "藏青色", "深蓝"], "green": ["green", "绿色"],
        "yellow": ["yellow", "黄色"], "pink": ["pink", "粉色", "粉红"], "purple": ["purple", "紫色"],
        "brown": ["brown", "棕色", "咖啡色", "褐色"], "grey": ["grey", "gray", "灰色"],
        "beige": ["beige", "cream", "米色", "米白"], "orange": ["orange", "橙色", "橘色"],
        "khaki": ["khaki", "卡其", "卡其色"], "multicolor": ["multicolor", "colorful", "多色", "彩色"],
    },
    "season": {
        "summer": ["summer", "summery", "夏天", "夏季", "夏装"],
        "winter": ["winter", "冬天", "冬季", "冬装"],
        "spring": ["spring", "春天", "春季"],
        "autumn": ["autumn", "fall", "秋天", "秋季"],
        "all-season": ["all-season", "all season", "all year", "四季"],
    },
    "material": {
        "cotton": ["cotton", "棉", "纯棉", "棉质"], "wool": ["wool", "woolen", "woollen", "羊毛", "毛呢"],
        "cashmere": ["cashmere", "羊绒"], "leather": ["leather", "真皮", "皮革", "皮质", "皮"],
        "silk": ["silk", "真丝", "丝绸"], "linen": ["linen", "亚麻"], "denim": ["denim", "牛仔"],
        "polyester": ["polyester", "涤纶", "聚酯"], "nylon": ["nylon", "尼龙"], "down": ["down", "羽绒"],
        "canvas": ["canvas", "帆布"], "suede": ["suede", "麂皮"], "fleece": ["fleece", "抓绒", "摇粒绒"],
        "rubber": ["rubber", "橡胶"], "straw": ["straw", "草编"], "plastic": ["plastic", "塑料"], "silicone": ["silicone", "硅胶"],
        "aluminium": ["aluminium", "aluminum", "铝", "铝合金"], "ceramic": ["ceramic", "ceramics", "陶瓷"],
        "stainless steel": ["stainless steel", "steel", "不锈钢"], "glass": ["glass", "玻璃"], "cast iron": ["cast iron", "铸铁"],
    },
    "gender": {
        "women": ["women", "women's", "womens", "woman", "ladies", "lady", "female", "for her", "girls", "my wife",
                  "my mom", "my mother", "my girlfriend", "my sister", "女", "女士", "女款", "女装", "女生", "女朋友",
                  "老婆", "妈妈", "女性", "姐姐", "妹妹"],
        "men": ["men", "men's", "mens", "man", "male", "for him", "guys", "my husband", "my dad", "my father",
                "my boyfriend", "my brother", "男", "男士", "男款", "男装", "男生", "男朋友", "老公", "爸爸", "男性", "哥哥", "弟弟"],
        "unisex": ["unisex", "中性"],
        "kids": ["kids'", "children's clothing", "童装"],
    },
}

# Domain words; Chinese genre compounds ending in 片 also imply films (handled in the parser).
DOMAIN_WORDS: dict[str, list[str]] = {
    "movie": ["movie", "movies", "film", "films", "flick", "flicks", "cinema", "电影", "影片", "片子", "大片", "老片", "动画电影"],
    "book": ["book", "books", "novel", "novels", "read", "reading", "书", "书籍", "小说", "读物"],
    "music": ["music", "song", "songs", "album", "albums", "playlist", "listen to", "音乐", "歌", "歌曲", "专辑", "听", "乐"],
    "game": ["game", "games", "video game", "video games", "游戏", "电子游戏"],
    "product": ["clothes", "clothing", "outfit", "outfits", "apparel", "garments", "衣服", "服装", "穿搭"],
}

# Question cues for ask_info, by the field asked about.
ASK_FIELDS: list[tuple[str, list[str]]] = [
    ("year", ["what year", "which year", "when did", "when was", "release date", "released", "come out", "came out",
              "how old is", "哪一年", "哪年", "什么时候上映", "什么时候出", "上映时间", "年份", "几几年"]),
    ("director", ["who directed", "director", "who made", "导演"]),
    ("cast", ["who is in", "who's in", "who stars", "starring", "actors", "actor", "cast", "演员", "主演", "谁演的"]),
    ("price", ["how much", "price", "cost", "costs", "多少钱", "价格", "价钱", "几块", "多少元"]),
    ("material", ["what material", "made of", "fabric", "什么材质", "材质", "面料", "什么料"]),
    ("color", ["what color", "what colour", "which colors", "what colors", "colours", "什么颜色", "颜色有", "哪些颜色", "几种颜色"]),
    ("brand", ["what brand", "which brand", "brand", "什么牌子", "牌子", "品牌"]),
    ("size", ["what size", "sizes", "尺码", "尺寸", "多大"]),
    ("genres", ["what kind of", "what genre", "which genre", "what type of", "is it a", "什么类型", "哪种类型", "什么题材", "属于"]),
    ("description", ["is it any good", "is it good", "worth watching", "worth it", "any good?", "好看吗", "怎么样", "值得看吗", "what's it about", "what is it about", "what's that about", "about?", "tell me about", "tell me more",
                     "describe", "plot", "what happens", "讲的是什么", "讲什么", "讲了什么", "内容", "剧情是", "介绍一下", "简介"]),
]

QUESTION_MARKERS = ["?", "？", "吗", "呢", "what", "when", "who", "how", "which", "is it", "does it", "什么", "哪", "谁", "多少", "怎么样"]

REQUEST_CUES = [
    "recommend", "suggest", "suggestion", "show me", "give me", "find me", "find", "looking for", "look for",
    "i want", "i'd like", "i would like", "i need", "need a", "want a", "want to watch", "want to see", "any good",
    "anything", "something", "some ", "what should", "what to watch", "options", "ideas", "more like", "similar",
    "instead", "another", "others", "more of", "shopping for", "a few", "help me", "can you find", "search",
    "推荐", "介绍几", "有没有", "有什么", "有啥", "我想看", "想看", "我想要", "想要", "想找", "找", "给我", "来点", "来一",
    "再来", "换一", "还有", "类似", "差不多", "一样的", "像", "要", "看看", "买", "适合", "求", "搜",
]

GREETINGS = [
    "hi", "hello", "hey", "yo", "good morning", "good evening", "thanks", "thank you", "thx", "bye", "goodbye",
    "how are you", "how's your day", "who are you", "what are you", "lol", "haha", "ok", "okay", "cool", "nice",
    "你好", "您好", "嗨", "哈喽", "晚上好", "下午好", "中午好", "早安", "谢谢", "多谢", "再见", "拜拜", "你是谁", "在吗", "哈哈", "好吧", "好的", "嗯", "早上好", "晚安",
]

# Phrases that are about the conversation rather than a catalog request (prompt injection, account data).
OFF_TOPIC = [
    "ignore previous", "ignore all previous", "ignore the above", "system prompt", "all users", "password", "api key",
    "jailbreak", "developer mode", "sudo", "drop table",
    "忽略之前", "忽略以上", "忽略前面", "系统提示", "所有用户", "密码", "天气",
]

LIKE_WORDS = [
    "love", "loved", "loves", "like", "liked", "likes", "enjoy", "enjoyed", "adore", "adored", "favorite", "favourite",
    "great", "good", "perfect", "awesome", "amazing", "excellent", "nice", "interesting", "fantastic", "best",
    "exactly what", "looks good", "sounds good", "want this", "i'll take", "喜欢", "爱", "好看", "不错", "很棒", "棒",
    "完美", "精彩", "就是它", "就要", "正是", "挺好", "很好", "喜爱", "推荐得好",
    # Agreeing with someone else's taste ("my wife loves it and so do I", "我也是").
    "so do i", "me too", "i do too", "我也是", "我也爱",
]

DISLIKE_WORDS = [
    "hate", "hated", "hates", "dislike", "disliked", "boring", "bored", "bad", "awful", "terrible", "worst",
    "too expensive", "overpriced", "not interested", "not interesting", "doesn't look interesting", "not for me",
    "not my thing", "meh", "ugly", "didn't like", "don't like", "do not like", "didn't enjoy", "wasn't good",
    "pricey", "too long", "too slow", "disappointed", "disappointing", "tired of", "sick of", "not good",
    "not great", "wasn't great", "overrated", "didn't care for", "not my cup of tea", "i'll pass", "will pass",
    "pass on", "no thanks", "no thank you", "nope", "please no", "god no", "hell no", "no way", "not a fan",
    "not really into", "not into", "not a huge fan", "not a big fan", "not really a fan", "let down", "letdown",
    "not my speed", "not my style", "not my taste", "not my type", "not my kind", "do not suggest", "don't suggest",
    "wouldn't recommend", "would not recommend", "waste of time", "annoying", "obnoxious", "lame", "mediocre",
    "cheesy", "corny", "isn't my cup of tea", "isnt my cup of tea", "isn't my thing", "isnt my thing", "isnt for me",
    "isn't for me", "wasn't for me", "wasnt for me", "wasn't fond", "wasnt fond", "not fond", "not too fond",
    "can't stand", "cant stand", "cannot stand", "can't bear", "couldn't stand", "dull", "受不了", "接受不了", "不爱看",
    # Too much of an intensity, or not getting through it, is a complaint about the item ("Alien was too creepy",
    # "fell asleep during 2001", "《异形》太吓人了").
    "too scary", "too creepy", "too violent", "too gory", "too dark", "too depressing", "too sad", "too weird",
    "too confusing", "too childish", "fell asleep", "couldn't finish", "could not finish", "couldn't get through",
    "walked out", "turned it off", "gave up on", "太吓人", "太恐怖", "太暴力", "太血腥", "太压抑", "太沉重", "太慢",
    "太闷", "太幼稚", "看不下去", "看睡着", "看不完",
    "没兴趣", "算了吧", "不想看", "讨厌", "无聊", "不喜欢", "不太喜欢", "不怎么喜欢", "不是很喜欢", "丑", "难听", "太长", "不好看", "难看", "太贵", "一般", "不行", "不怎么样", "没意思", "烂", "不感兴趣", "太无聊", "不太行", "不要这个",
]

LIST_REJECTION = [
    "none of these", "none of them", "not these", "something else", "other options", "show me others",
    "different ones", "not what i want", "这些都不", "都不喜欢", "都不太行", "换一批", "换一些", "别的", "其他的",
]

NEGATION_CUES = [
    "no", "not", "don't", "dont", "do not", "without", "except", "avoid", "nothing", "never", "hate", "hates",
    "no more", "anything but", "other than", "rather not", "can't stand", "exclude", "skip", "enough of", "sick of",
    "tired of", "fed up with", "受够了", "看腻了", "腻了", "厌倦了",
    "不要", "不想", "不看", "别", "除了", "不喜欢", "讨厌", "没有", "不含", "不是", "排除", "也不要", "非",
    # Degree: wanting less of something is never a wish for it ("isn't too long", "不太暴力", "别太吓人").
    "isn't", "isnt", "aren't", "arent", "wasn't", "not so", "not too", "too much", "fewer", "neither", "nor",
    "不太", "别太", "没那么", "不那么", "不怎么", "少点", "少一点", "少些", "不用太",
]
# "less" refuses what follows it, except in a bound ("less than 50 dollars").
LESS_CUE = r"(?<![a-z0-9'])less(?!\s+than)(?![a-z0-9'])"
# "too" before a word is a complaint about what follows ("too creepy", "too many superheroes"), not "me too" or
# "horror too"; in Chinese only before an intensity ("太吓人", "太暴力"), since "太好看了" is praise.
TOO_CUE = r"(?<![a-z0-9'])(?<!me )too(?=\s+[a-z])|太(?=吓人|恐怖|暴力|血腥|压抑|沉重|黑暗|悲|虐)"

# Wanting less of an intensity ("less violent", "不要太吓人") excludes the genres that carry it, where the catalog
# has them (an exact filter the ranker can honour), and leans away from the genres that often do (crime films
# are not all violent: a soft preference, never a filter).
AVOID_INTENSITY: list[tuple[list[str], dict[str, list[str]], dict[str, list[str]]]] = [
    (["less violent", "not violent", "non-violent", "nonviolent", "nothing violent", "too violent", "without violence",
      "no violence", "less gory", "not gory", "no gore", "too gory", "without gore", "less violence", "less gore",
      "不要太暴力", "别太暴力", "不暴力", "没那么暴力", "不太暴力", "不那么暴力", "少点暴力", "不要暴力", "不血腥",
      "不要血腥", "别太血腥", "不太血腥", "没有血腥", "太暴力", "太血腥", "too much violence", "too much gore"],
     {"genres": ["Horror", "War"]}, {"genres": ["Crime", "Thriller"]}),
    (["less scary", "not scary", "not too scary", "nothing scary", "too scary", "too creepy", "less creepy",
      "not creepy", "不吓人", "别太吓人", "不要太吓人", "不要吓人", "不太吓人", "没那么吓人", "太吓人", "太恐怖"],
     {"genres": ["Horror"]}, {"genres": ["Thriller"]}),
    (["something lighter", "lighter", "light-hearted", "lighthearted", "less dark", "not so dark",
      "too depressing", "轻松一点", "轻松点", "轻松的", "别太沉重", "不要太沉重", "太沉重", "太压抑"],
     {"genres": ["Horror", "War", "Film-Noir"]}, {"genres": ["Crime", "Thriller"]}),
]

REPLACE_CUES = [
    "instead", "actually", "forget", "never mind", "nevermind", "change of plan", "rather", "scratch that", "switch to",
    "算了", "还是", "换成", "改成", "改为", "不如", "更想", "换个",
]

# Small zh→en glossary for free keywords the attribute lexicon does not cover.
ZH_KEYWORDS: dict[str, str] = {
    "恐龙": "dinosaurs", "太空": "space", "宇宙": "space", "外星人": "aliens", "外星": "aliens", "机器人": "robots",
    "时间旅行": "time travel", "穿越": "time travel", "超级英雄": "superhero", "僵尸": "zombies", "吸血鬼": "vampires",
    "鬼": "ghosts", "海盗": "pirates", "间谍": "spy", "警察": "police", "监狱": "prison", "越狱": "prison escape",
    "复仇": "revenge", "友情": "friendship", "亲情": "family", "家庭": "family", "全家": "family", "成长": "coming of age",
    "校园": "school", "青春": "youth", "体育": "sports", "篮球": "basketball", "足球": "soccer", "拳击": "boxing",
    "音乐": "music", "舞蹈": "dance", "历史": "history", "传记": "biography", "真实故事": "true story", "真实事件": "true story",
    "经典": "classic", "老电影": "classic", "轻松": "light", "温馨": "heartwarming", "感人": "moving", "治愈": "feel-good",
    "励志": "inspiring", "烧脑": "mind-bending", "黑暗": "dark", "血腥": "gore", "暴力": "violent", "动物": "animals",
    "狗": "dog", "猫": "cat", "海洋": "ocean", "大海": "sea", "海边": "beach", "沙滩": "beach", "度假": "vacation",
    "降噪": "noise-cancelling", "无线": "wireless", "旅行": "travel", "旅游": "travel", "礼物": "gift", "送人": "gift", "生日": "birthday", "婚礼": "wedding",
    "上班": "office", "办公室": "office", "办公": "office", "露营": "camping", "野营": "camping", "约会": "date night",
    "黑白": "black and white", "老片": "classic", "新一点": "newer", "新的": "newer", "最新": "newest", "复古": "vintage", "通勤": "commute", "运动": "sport", "跑步": "running", "健身": "gym", "徒步": "hiking",
    "登山": "hiking", "户外": "outdoor", "防水": "waterproof", "保暖": "warm", "透气": "breathable", "舒适": "comfortable",
    "舒服": "comfortable", "质量": "quality", "耐穿": "durable", "便宜": "cheap", "时尚": "fashionable", "休闲": "casual",
    "正式": "formal", "宽松": "loose", "修身": "slim fit", "轻便": "lightweight", "热天": "hot weather", "天热": "hot weather",
    "下雨": "rain", "雨天": "rain", "纽约": "new york", "巴黎": "paris", "中国": "china", "日本": "japan", "法国": "france",
    "战斗": "fight", "魔法师": "wizard", "公主": "princess", "王子": "prince", "国王": "king", "船": "ship", "火车": "train",
    "飞机": "plane", "汽车": "cars", "赛车": "racing", "电脑": "computer", "黑客": "hacker", "人工智能": "artificial intelligence",
    "末日": "apocalypse", "灾难": "disaster", "地震": "earthquake", "龙卷风": "tornado", "鲨鱼": "shark",
}

# Words that carry no retrieval meaning (English) — requests, fillers, pronouns.
EN_STOPWORDS = set(
    """a an the and or but if of to in on at for from with by about as into like than then so too very really just
    i me my mine we our you your he she it its they them their this that these those there here what which who whom
    whose when where why how is are was were be been being am do does did doing have has had having can could would
    should will shall may might must want wanted wants need needs needed looking look show shows give get got find
    recommend recommended recommendation recommendations suggest suggestion suggestions please pls some any anything
    something someone somebody one ones two three four five more most much many few lot lots good great nice best
    better watch watching watched see seen saw movie movies film films flick flicks thing things stuff kind sort type
    maybe perhaps also still again even yeah yes no not ok okay hey hi hello thanks thank let lets let's im i'm i'd
    i've ive dont don't doesn't isn't aren't wasn't weren't won't can't cannot would've could've should've that's
    what's it's there's here's all other else instead actually preferably prefer prefers rather mood today tonight
    now new old time times day made make makes making go going similar same tell know think feel guess bit little
    around over under below above after before between since until year years s ve ll re d m t being well
    someone's his her hers him us ours yours next totally different shopping help fine set forget week weekend
    tomorrow evening morning afternoon hmm hm um uh nothing though although came come comes coming out entertain
    possible if whatever less anyway kinda sorta quite pretty ideally preferably hopefully sure great fun both
    either neither""".split()
)
# Contractions lose their apostrophe in tokens ("i'll" -> "ill"); both spellings are stop words.
EN_STOPWORDS |= {w.replace("'", "") for w in EN_STOPWORDS if "'" in w} | {
    "ill", "youll", "youre", "youve", "theyre", "weve", "were", "hes", "shes", "wouldnt", "couldnt", "shouldnt", "didnt",
    "hasnt", "havent", "wont", "whats", "thats", "theres", "heres", "lets", "ive", "id", "im", "isnt", "arent"}

# Chinese fragments removed before looking for free keywords.
ZH_FILLERS = [
    "我想看", "我想找", "我想要", "我想", "想看", "想找", "想要", "推荐一下", "推荐几部", "推荐一部", "推荐一些", "推荐", "给我",
    "有没有", "有什么", "有啥", "一些", "一部", "几部", "一个", "几个", "一下", "一点", "一款", "一件", "一条", "一本", "的话",
    "电影", "影片", "片子", "好看的", "好看", "看看", "看", "的", "了", "吗", "呢", "吧", "啊", "呀", "我", "你", "他", "她",
    "是", "在", "和", "与", "或者", "还有", "也", "都", "很", "太", "最好", "要", "关于", "类似", "那样", "这样", "一样",
    "喜欢", "适合", "穿", "买", "找", "来点", "部", "个", "些", "点", "再", "就", "还", "又", "吧", "呗", "么", "什么", "时候",
]

# Asking for more of the same list ("any other suggestions?", "还有别的吗"): a refreshed list, nothing turned down.
MORE_CUES = [
    "any other", "anything else", "what else", "other suggestions", "more suggestions", "other ideas", "more ideas",
    "more please", "more options", "some more", "a few more", "any more", "anymore", "another one", "one more",
    "more like that", "more like this", "others?", "what about others", "keep them coming", "go on", "show me more",
    "give me more", "got more", "more of those", "more of these",
    "还有别的", "还有吗", "还有其他", "还有什么", "还有没有", "再来", "再推荐", "多推荐", "更多", "别的呢", "其他的呢", "再给我",
]
# List rejections that, next to a "more" cue, only ask for other items ("还有别的吗" is not "none of these").
WEAK_REJECTION = {"something else", "other options", "show me others", "different ones", "别的", "其他的"}

# Reactions to a suggestion: whether the person has seen it, or will try it.
SEEN_CUES = [
    "seen it", "seen that", "seen this", "saw it", "saw that", "watched it", "watched that", "already seen",
    "already watched", "i've seen", "ive seen", "i have seen", "have seen", "seen them", "read it", "heard it",
    "already have", "already own", "we own", "i own", "listened to", "i've heard", "ive heard", "i have heard",
    "i've read", "i have read", "i've played", "i have played", "i've finished", "i finished", "too many times",
    "so many times", "a hundred times", "over and over", "听腻了", "听了很多遍", "看了很多遍", "玩腻了",
    "看过", "看了", "已经看", "读过", "听过", "玩过", "买过", "已经有",
]
UNSEEN_CUES = [
    "haven't seen", "havent seen", "have not seen", "never seen", "not seen", "haven't watched", "never watched",
    "didn't see", "haven't heard", "never heard", "haven't read", "not yet", "yet to see", "yet to watch",
    "have yet to", "don't think i've seen", "don't think he has seen", "don't think she has seen", "hasn't seen",
    "没看过", "没看", "还没看", "没有看过", "没听过", "没读过", "没玩过",
]
ACCEPT_CUES = [
    "sounds good", "sounds great", "sounds interesting", "sounds fun", "sounds like", "i'll watch", "i will watch",
    "i'll check", "will check it out", "check it out", "i'll try", "i'll give it a", "give it a try", "add it",
    "on my list", "i'll take", "i'll go with", "let's go with", "that one it is",
    "听起来不错", "听着不错", "我去看", "去看看", "就它了", "就看这个", "试试", "加入", "就要",
]

# The assistant offering suggestions: the conversation is about recommendations.
OFFER_CUES = ["suggest", "recommend", "推荐"]

# Saying yes to what the assistant offered or asked.
AFFIRMATIVES = [
    "yes", "yeah", "yea", "yep", "yup", "sure", "ok", "okay", "please", "of course", "go ahead", "go for it",
    "absolutely", "definitely", "why not", "i do", "i did", "i have", "i would",
    "好", "好的", "可以", "行", "是的", "对", "当然", "要的", "好啊", "嗯",
]

# Closing a conversation: small talk even when it holds a liking word ("have a great day").
CLOSINGS = [
    "have a great day", "have a good day", "have a nice day", "have a great night", "have a good night",
    "have a nice night", "have a great evening", "have a good one", "nice chatting", "nice talking", "good night",
    "goodnight", "goodbye", "bye", "take care", "thanks for the suggestions", "thanks for the help",
    "thanks for the recommendations", "thanks for chatting", "you too", "have a great weekend",
    "再见", "拜拜", "晚安", "谢谢你的推荐", "谢谢推荐",
]

# Someone else's taste ("my sister loves X", "我女朋友喜欢X"): the item is theirs, not the speaker's like.
OTHER_PEOPLE = [
    "my sister", "my brother", "my wife", "my husband", "my girlfriend", "my boyfriend", "my partner", "my mom",
    "my mum", "my mother", "my dad", "my father", "my son", "my daughter", "my kids", "my kid", "my friend",
    "my friends", "my roommate", "my parents", "my family", "my boss", "my colleague", "my grandma", "my grandpa",
    "he", "she", "they", "everyone", "everybody",
    "我女朋友", "我男朋友", "我老婆", "我老公", "我妻子", "我丈夫", "我妈妈", "我妈", "我爸爸", "我爸", "我姐姐", "我姐",
    "我妹妹", "我妹", "我哥哥", "我哥", "我弟弟", "我弟", "我儿子", "我女儿", "我孩子", "我朋友", "我同事", "我室友",
    "女朋友", "男朋友", "老婆", "老公", "妈妈", "爸爸", "姐姐", "妹妹", "哥哥", "弟弟", "朋友", "他们", "她们", "他", "她",
    "大家", "别人",
]
OTHER_TASTE_VERBS = [
    "loves", "love", "likes", "like", "adores", "adore", "enjoys", "enjoy", "is into", "are into", "is obsessed with",
    "is a fan of", "are fans of", "keeps watching", "watches", "liked", "loved", "enjoyed", "thinks", "says",
    "hates", "hated", "dislikes", "can't stand", "doesn't like", "didn't like",
    "喜欢", "爱看", "爱", "最爱", "迷", "推荐", "讨厌", "不喜欢", "受不了",
]
# Saying that a filter does not matter drops it ("any year is fine", "the genre doesn't matter", "年代不限"): the
# words that name a filter, each with the attributes it covers.
ANY_VALUE_WORDS = {
    "year": ["year"], "years": ["year"], "decade": ["year"], "era": ["year"], "release date": ["year"],
    "genre": ["genres"], "genres": ["genres"], "kind": ["genres", "category"], "type": ["genres", "category"],
    "category": ["category"], "price": ["price"], "budget": ["price"], "brand": ["brand"],
    "年代": ["year"], "年份": ["year"], "类型": ["genres", "category"], "题材": ["genres"], "风格": ["genres"],
    "种类": ["category"], "价格": ["price"], "价钱": ["price"], "预算": ["price"], "品牌": ["brand"],
}
# Accepting an offer to loosen a filter ("shall I drop it?"): these phrases anywhere in the answer ...
LOOSEN_CUES = [
    "drop it", "drop that", "drop the", "remove it", "remove that", "loosen", "relax it", "relax that", "without it",
    "skip it", "forget it", "forget that", "never mind that", "ignore it", "ignore that", "go ahead", "do it",
    "please do", "that's fine", "no problem", "no worries",
    "去掉", "放宽", "不要这个条件", "不用这个条件", "没问题", "那就这样",
]
# ... and these yes-words only where the answer begins ("好的", but not the 好 of "有好看的吗").
LOOSEN_ANSWERS = [
    "yes", "yeah", "yep", "yup", "sure", "ok", "okay", "alright", "fine", "of course", "why not", "sounds good",
    "please", "好", "好的", "好啊", "好吧", "好呀", "行", "行吧", "可以", "可以的", "嗯", "是的", "对", "试试",
]
# Declining the offer: keep the filter.
KEEP_CUES = ["keep it", "keep that", "keep the", "don't drop", "do not drop", "rather not", "不用了", "不用去掉", "不要去掉", "别去掉",
             "保留", "不了"]
