"""CloudWatch Logs: the retention periods AWS accepts."""

from __future__ import annotations




# CloudWatch Logs PutRetentionPolicy accepts only these (API reference, retentionInDays: "Possible
# values are: 1, 3, 5, ... 3288, and 3653"); moto stores any integer.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)
