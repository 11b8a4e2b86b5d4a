"""Settings of the ready-by prediction (repairs/readyby): the shop's working hours and the model.

The working hours live here until the shop has a profile page with its opening hours; then
``repairs.readyby.calendar.shop_calendar()`` should read that profile instead (one place to change).
"""

from celery.schedules import crontab

from ..env import env_int, env_list, env_str

#: Opening hours per weekday, in the shop's time zone (TIME_ZONE / SHOP_TIME_ZONE). Comma-separated
#: ``<days> HH:MM-HH:MM`` items; days are ``mon``…``sun`` or ranges ``mon-fri``; days not named are closed.
READY_BY_OPENING_HOURS = env_str("READY_BY_OPENING_HOURS", "mon-fri 09:00-18:00, sat 10:00-16:00")
#: Dates (YYYY-MM-DD) the shop is closed (bank holidays, the Christmas break).
READY_BY_HOLIDAYS = env_list("READY_BY_HOLIDAYS", [])
#: Completed repairs needed before the model is trained; below it the prediction falls back to medians by
#: device kind (and says so).
READY_BY_MIN_TRAINING_TICKETS = 150
#: Repairs checked in within this many days before training are left out: most are not finished yet,
#: and keeping only the finished ones would teach the model that repairs are quick.
READY_BY_SETTLE_DAYS = 21
#: Share of the (time-ordered) finished repairs held out to measure the model, and the share of the
#: training part used to calibrate its 80% interval (conformalised quantile regression).
READY_BY_HOLDOUT_PERCENT = 20
READY_BY_CALIBRATION_PERCENT = 20
READY_BY_RANDOM_SEED = 7
#: Working hours before the predicted time from which an open repair counts as "due soon".
READY_BY_DUE_SOON_HOURS = env_int("READY_BY_DUE_SOON_HOURS", 9)
#: Nightly training (02:40 UTC); cron fields, UTC.
READY_BY_TRAIN_CRON = env_str("READY_BY_TRAIN_CRON", "40 2 * * *")


def _cron(expression: str) -> crontab:
    minute, hour, day_of_month, month_of_year, day_of_week = expression.split()
    return crontab(minute, hour, day_of_week, day_of_month, month_of_year)


READY_BY_BEAT_SCHEDULE: dict = {
    "repairs-train-ready-by-model": {
        "task": "repairs.train_ready_by_model",
        "schedule": _cron(READY_BY_TRAIN_CRON),
    },
}
