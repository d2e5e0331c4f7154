"""ReasonLite distillation: teacher solutions -> vote -> filter -> split -> two-stage SFT.

One module per step (:mod:`.generate`, :mod:`.vote`, :mod:`.filter`, :mod:`.split`,
:mod:`.sft`), the recipe (:mod:`.recipe`), the run's files and step markers (:mod:`.workdir`),
the chain (:mod:`.pipeline`) and the CLI (:mod:`.cli`).
"""
