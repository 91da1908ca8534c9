"""TinyTorch's public module constants, under its names, so that code written for the course finds them.

Where the OOP face uses one (an optimizer's default learning rate, the loss's clipping), the
class's default is this constant.
"""

from __future__ import annotations

__all__ = [
    "BYTES_PER_FLOAT32",
    "BYTES_PER_INT8",
    "DEFAULT_EPS",
    "DEFAULT_KERNEL_SIZE",
    "DEFAULT_LEARNING_RATE_ADAM",
    "DEFAULT_LEARNING_RATE_SGD",
    "DEFAULT_MAX_LR",
    "DEFAULT_MIN_LR",
    "DEFAULT_MOMENTUM",
    "DEFAULT_PADDING",
    "DEFAULT_STRIDE",
    "DEFAULT_TIMING_ITERATIONS",
    "DEFAULT_TOTAL_EPOCHS",
    "DEFAULT_WARMUP_ITERATIONS",
    "DEFAULT_WEIGHT_DECAY_ADAMW",
    "DROPOUT_MAX_PROB",
    "DROPOUT_MIN_PROB",
    "EPSILON",
    "HE_SCALE_FACTOR",
    "INT8_MAX_VALUE",
    "INT8_MIN_VALUE",
    "INT8_RANGE",
    "KB_TO_BYTES",
    "MASK_VALUE",
    "MB_TO_BYTES",
    "TOLERANCE",
    "XAVIER_SCALE_FACTOR",
]

# module 01 (tensor) and the memory reports of 11, 13 and 17
KB_TO_BYTES = 1024
MB_TO_BYTES = 1024 * 1024
BYTES_PER_FLOAT32 = 4
# module 02 (activations): the tolerance its tests compare with
TOLERANCE = 1e-10
# module 03 (layers): Xavier's and He's variance scales, Dropout's range of probabilities
XAVIER_SCALE_FACTOR = 1.0
HE_SCALE_FACTOR = 2.0
DROPOUT_MIN_PROB = 0.0
DROPOUT_MAX_PROB = 1.0
# modules 04 and 05: probabilities are clipped to [EPSILON, 1 - EPSILON] before a log
EPSILON = 1e-7
# module 06 (optimizers)
DEFAULT_LEARNING_RATE_SGD = 0.01
DEFAULT_LEARNING_RATE_ADAM = 0.001
DEFAULT_MOMENTUM = 0.9
DEFAULT_EPS = 1e-8
DEFAULT_WEIGHT_DECAY_ADAMW = 0.01
# module 07 (training): the cosine schedule's defaults
DEFAULT_MAX_LR = 0.1
DEFAULT_MIN_LR = 0.01
DEFAULT_TOTAL_EPOCHS = 100
# module 09 (spatial)
DEFAULT_KERNEL_SIZE = 3
DEFAULT_STRIDE = 1
DEFAULT_PADDING = 0
# module 12 (attention): the score added where a mask forbids attending (about 0 after softmax)
MASK_VALUE = -1e9
# module 15 (quantization): the int8 code range and its size in bytes (its EPSILON, 1e-8, is not
# exported here: the name is module 04's clipping constant above)
INT8_MIN_VALUE = -128
INT8_MAX_VALUE = 127
INT8_RANGE = 256
BYTES_PER_INT8 = 1
# module 18 (acceleration): its timing loops' warmup and measured iterations
DEFAULT_WARMUP_ITERATIONS = 2
DEFAULT_TIMING_ITERATIONS = 5
