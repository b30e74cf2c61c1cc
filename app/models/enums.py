"""Closed vocabularies of the national monitoring system, kept as their official strings."""

from enum import StrEnum


class RegionLevel(StrEnum):
    county = "county"
    township = "township"
    village = "village"


class Role(StrEnum):
    village_cadre = "village_cadre"
    township_reviewer = "township_reviewer"
    district_officer = "district_officer"
    department_user = "department_user"
    admin = "admin"
    platform_client = "platform_client"


ROLE_REGION_LEVEL: dict[Role, RegionLevel] = {
    Role.village_cadre: RegionLevel.village,
    Role.township_reviewer: RegionLevel.township,
    Role.district_officer: RegionLevel.county,
    Role.department_user: RegionLevel.county,
    Role.admin: RegionLevel.county,
    Role.platform_client: RegionLevel.county,
}


class HouseholdType(StrEnum):
    """户类型."""

    lifted = "脱贫户"
    ordinary = "一般农户"


class MonitoringCategory(StrEnum):
    """监测对象类别."""

    none = "none"
    unstable = "脱贫不稳定户"
    marginal = "边缘易致贫户"
    sudden_hardship = "突发严重困难户"


class CaseStep(StrEnum):
    """The procedure's steps, in order (services/cases/procedure.py says who works each and what follows)."""

    village_verification = "village_verification"  # 入户核实
    democratic_review = "democratic_review"  # 民主评议
    public_notice = "public_notice"  # 公示
    township_review = "township_review"  # 乡镇审核
    district_decision = "district_decision"  # 县级审定


class MonitoringStatus(StrEnum):
    not_monitored = "not_monitored"
    under_verification = "under_verification"
    monitored = "monitored"
    risk_eliminated = "risk_eliminated"


class Relation(StrEnum):
    """与户主关系, as the national system spells it."""

    head = "户主"
    spouse = "配偶"
    son = "之子"
    daughter = "之女"
    daughter_in_law = "之儿媳"
    son_in_law = "之女婿"
    grandson = "之孙子"
    granddaughter = "之孙女"
    father = "之父"
    mother = "之母"
    sibling = "之兄弟姐妹"
    other = "其他"


class Sex(StrEnum):
    male = "男"
    female = "女"


class LabourCapacity(StrEnum):
    ordinary = "普通劳动力"
    skilled = "技能劳动力"
    lost = "丧失劳动力"
    none = "无劳动力"


CANNOT_WORK = frozenset({LabourCapacity.lost, LabourCapacity.none})


class Health(StrEnum):
    healthy = "健康"
    chronic = "长期慢性病"
    serious_illness = "患有大病"
    disabled = "残疾"


class Schooling(StrEnum):
    in_school = "在校"
    dropped_out = "辍学"
    not_applicable = "不适用"


class SchoolLevel(StrEnum):
    preschool = "学前"
    primary = "小学"
    junior = "初中"
    senior = "高中"
    secondary_vocational = "中职"
    higher_vocational = "高职"
    university = "本科及以上"


class DropoutReason(StrEnum):
    illness = "因病"
    disability = "因残"
    learning = "因学习困难"
    economic = "因经济困难"
    other = "其他"


class MemberFactKind(StrEnum):
    """A member's facts that change over time and are kept dated (member_fact), each named after the
    member's column that shows its value today."""

    health = "health"
    labour_capacity = "labour_capacity"
    disability_grade = "disability_grade"
    schooling = "schooling"
    school_level = "school_level"
    dropout_reason = "dropout_reason"
    dibao = "dibao"
    tekun = "tekun"


class Employment(StrEnum):
    local = "本地务工"
    migrant = "外出务工"
    none = "无"


class LeftReason(StrEnum):
    death = "死亡"
    marriage_out = "婚出"
    household_split = "分户"
    moved_out = "迁出"
    other = "其他"


class HousingGrade(StrEnum):
    """房屋安全等级: C and D are 危房."""

    a = "A"
    b = "B"
    c = "C"
    d = "D"


class EventKind(StrEnum):
    illness = "illness"
    disability = "disability"
    accident = "accident"
    natural_disaster = "natural_disaster"
    business_failure = "business_failure"
    job_loss = "job_loss"


class DisasterType(StrEnum):
    flood = "洪涝"
    geological = "地质"
    drought = "旱灾"
    biological = "生物"
    meteorological = "气象"
    earthquake = "地震"
    other = "其他"
