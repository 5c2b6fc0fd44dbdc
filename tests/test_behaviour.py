"""Model tier (CheckList style) on the default model trained from data/complaints.csv.

The texts here were written for these tests; none is in the corpus.
"""

from __future__ import annotations

import pytest

from classifier.predict import Predictor

pytestmark = pytest.mark.slow

CLEAR = {
    "unwilling": [
        "我去镇上办低保证明，窗口的人一边刷短视频一边说明天再来，连着去了三趟都是这句话，材料看都不看。",
        "来电人反映，其小区门口路灯坏了两个月，多次打电话给街道，每次都说登记了，就是没人来修，相互推诿。",
        "某区住建局干部王某对群众反映的问题长期不理不睬，推诿扯皮，敷衍塞责，受到通报批评。",
    ],
    "afraid": [
        "材料早就齐了，可审批科的人说这个事情以前没办过，签了字以后出了问题要追责，谁也不敢拍板，让我们等上面出文件。",
        "该同志遇事瞻前顾后，怕担责任，凡事层层请示，不敢碰硬，该拍板时不拍板。",
        "有的干部把不出事当作最高原则，怕被倒查追责，宁可不干也不愿担一点风险。",
    ],
    "unable": [
        "社保窗口的工作人员自己都搞不懂新政策，每次说法不一样，害我来回补了五次材料，还是没弄好。",
        "该同志业务能力不足，面对新情况新问题束手无策，习惯把矛盾上交，本领恐慌明显。",
        "督查发现，部分乡镇干部对新出台的政策吃不透，不会使用新的信息系统，工作推进缓慢。",
    ],
    "other": [
        "开发商延期交房已经一年多了，售楼处一直推诿说等通知，我们业主要求开发商按合同赔偿违约金。",
        "请问异地就医备案需要准备哪些材料？在网上怎么办理？谢谢。",
        "某县交通局原局长李某利用职务便利为他人谋取利益，收受财物共计86万元，被开除党籍和公职。",
    ],
}


@pytest.mark.parametrize(("label", "text"), [(label, t) for label, texts in CLEAR.items() for t in texts])
def test_clear_examples(default_model: Predictor, label: str, text: str) -> None:
    assert default_model.predict_one(text).label == label


BASE_UNWILLING = (
    "我叫张三，住在A市B区幸福小区，2023年5月6日起小区门口的下水道堵了，污水漫到路上。"
    "我先后打了8次电话给街道办，每次都说马上处理，到现在也没人来，花了我300元自己找人疏通。"
)
SWAPS = [
    ("张三", "李秀英"),
    ("A市B区", "K市K8县"),
    ("2023年5月6日", "去年冬天"),
    ("300元", "1200元"),
    ("幸福小区", "东湖花园"),
    ("8次", "十几次"),
]


@pytest.mark.parametrize(("old", "new"), SWAPS)
def test_invariance_to_names_places_dates_amounts(default_model: Predictor, old: str, new: str) -> None:
    before = default_model.predict_one(BASE_UNWILLING)
    after = default_model.predict_one(BASE_UNWILLING.replace(old, new))
    assert after.label == before.label


NEUTRAL_DELAY = "我们公司的项目审批材料是三月份交的，到现在还没有批下来，工作人员说还在办理中。"


def test_direction_toward_afraid(default_model: Predictor) -> None:
    base = default_model.predict_one(NEUTRAL_DELAY).probabilities["afraid"]
    edited = default_model.predict_one(NEUTRAL_DELAY + "听说是怕被追责，一直不敢签字。").probabilities["afraid"]
    assert edited > base + 0.1


def test_direction_toward_unable(default_model: Predictor) -> None:
    base = default_model.predict_one(NEUTRAL_DELAY).probabilities["unable"]
    edited = default_model.predict_one(NEUTRAL_DELAY + "后来才知道他们业务不熟，新系统不会用。").probabilities["unable"]
    assert edited > base + 0.1


@pytest.mark.parametrize(
    "text",
    [
        "物业公司对小区电梯故障一直推诿，说要等维修基金，三个月了不管不问，老人只能爬十八楼。",
        "在某商场买的冰箱坏了，商家推诿说是人为损坏，售后电话打了十几次也不管，要求退货。",
        "开发商承诺的幼儿园至今没建，找售楼部他们就踢皮球，一会说是规划问题一会说是资金问题。",
        "装修公司拖延工期两个月，老板天天推脱，定金也不退，这种公司怎么维权？",
    ],
)
def test_complaints_against_companies_stay_other(default_model: Predictor, text: str) -> None:
    assert default_model.predict_one(text).label == "other"


def test_evidence_points_at_the_cause(default_model: Predictor) -> None:
    text = "审批科科长怕被追责，材料齐全也不敢签字，一直让我们等上级文件。"
    result = default_model.predict_one(text)
    terms = "".join(e["term"] for e in result.evidence)
    assert result.label == "afraid"
    assert any(word in terms for word in ("不敢", "追责", "怕", "文件"))
