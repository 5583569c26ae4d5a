"""Tensor types of the kernels whose family base does not declare them.

``registry.supported_ops()`` reports, per operator, the types of its plain forms and of its
quantized forms.  Kernels built on the elementwise bases (``_unary.UnaryKernel``,
``_binary.BinaryKernel``, ...) declare them as class attributes (``dtypes``; ``quantized`` /
``qdtypes``); the others are declared here, by TFLite type name, from what each kernel's
``prepare`` accepts (its module docstring and tests say the same).  An entry here overrides
the class attributes.

How the two lists are read:

1. Plain types: the types the op runs on without quantization parameters (or ignoring them, as
   LiteRT does for CAST, NEG, BITCAST, the bitwise ops, ...).  For ops with several kinds of
   inputs only the data that flows through is listed (GATHER: the params, not the indices;
   RFFT2D, MULTINOMIAL: the float32 input; the random ops: their output); index, shape, axis and
   count inputs are not.
2. Quantized types: the types for which the op has a quantized form, bit-exact with LiteRT's
   reference kernels: it either computes with the scales and zero points (CONV_2D, SOFTMAX,
   MEAN, ...), or it moves, selects or compares stored values so that the output carries the
   input's quantization (RESHAPE, GATHER, MAX_POOL_2D, REDUCE_MAX, ARG_MAX, ...; padding ops pad
   with the zero point).  Ops that treat quantized tensors as plain integers (whose result is not
   the quantized result of the real-valued op, e.g. MATRIX_DIAG's and SCATTER_ND's stored-zero
   fill, ZEROS_LIKE) list the type as plain only.
3. Hybrid forms (float32 activations with int8 weights: FULLY_CONNECTED, the convolutions,
   BATCH_MATMUL, the LSTMs and RNNs, SVDF, EMBEDDING_LOOKUP's quantized tables) count as plain
   FLOAT32; ``INT8`` is in the quantized list only where the op also has a fully-quantized form.
4. Resource ops (VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE, HASHTABLE*): the value types the
   resource holds.  Control flow (WHILE, IF, CALL_ONCE, STABLEHLO_CASE / COMPOSITE): every type,
   since the tensors pass through to the called subgraphs unchanged.

``tests/test_support_types.py`` checks that every name is a TFLite ``TensorType`` and runs a
sample of the entries (plain and quantized) on numlite and LiteRT.
"""

from __future__ import annotations

F32 = ("FLOAT32",)
#: the 8- and 16-bit quantized forms most kernels have
Q8_16 = ("INT8", "UINT8", "INT16")
#: numlite's data-movement types (``_shape.DATA_DTYPES``) ...
DATA = ("FLOAT32", "FLOAT16", "INT32", "INT64", "UINT8", "INT8", "INT16", "BOOL")
#: ... and strings too (``_shape.STRING_DATA_DTYPES``)
STRING_DATA = (*DATA, "STRING")
#: float8 tensors, raw bytes to the ops that only move them (the versions that add float8:
#: CONCATENATION 7, GATHER 8, PAD 6, SLICE 8, TRANSPOSE 9, ... and FILL 5)
F8 = ("FLOAT8_E4M3FN", "FLOAT8_E5M2")
STRING_DATA_F8 = (*STRING_DATA, *F8)
DATA_F8 = (*DATA, *F8)
#: every fixed-size numeric type
NUMERIC = ("FLOAT16", "FLOAT32", "FLOAT64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32",
           "UINT64")
NUMERIC_BOOL = (*NUMERIC, "BOOL")
#: ``_space_batch.SPACE_BATCH_DTYPES``: the fixed-size types the byte-moving kernels take
FIXED = ("BOOL", "INT8", "UINT8", "INT16", "UINT16", "FLOAT16", "INT32", "UINT32", "FLOAT32", "INT64", "FLOAT64")
#: every fixed-size type, complex included
ALL_FIXED = (*NUMERIC_BOOL, "COMPLEX64", "COMPLEX128")
#: every value a resource variable can hold (strings too)
VALUES = (*ALL_FIXED, "STRING")
#: tensors that pass through control flow: any type, resource handles included
EVERY = (*VALUES, "RESOURCE")
#: the value types of TFLite's hash tables (INT64 / STRING keys)
TABLE_VALUES = ("FLOAT32", "INT64", "STRING")
SEGMENT = ("FLOAT32", "INT32")
#: REDUCE_WINDOW / STABLEHLO_REDUCE_WINDOW (LiteRT 2.3's types)
WINDOW = ("BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "FLOAT32", "FLOAT64")
REDUCE = ("FLOAT32", "INT32", "INT64", "UINT8", "INT8", "INT16")
POOL = ("FLOAT32", "UINT8", "INT8", "INT16")
ORDER = ("FLOAT16", "FLOAT32", "INT8", "UINT8", "INT16", "INT32", "INT64")
EQUALITY = ("BOOL", *ORDER, "STRING")
MINMAX = ("FLOAT32", "INT8", "UINT8", "INT16", "INT32", "INT64")
#: the types with a stored-value passthrough (copy, select, compare) quantized form
MOVE_Q = Q8_16

#: op name -> (plain types, quantized types)
TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # -- arithmetic and reductions ---------------------------------------------------------------
    "ADD_N": (("FLOAT32", "INT32"), ()),
    "CUMSUM": (("FLOAT32", "INT32", "INT64"), ()),
    "SEGMENT_SUM": (SEGMENT, ()),
    "UNSORTED_SEGMENT_MAX": (SEGMENT, ()),
    "UNSORTED_SEGMENT_MIN": (SEGMENT, ()),
    "UNSORTED_SEGMENT_PROD": (SEGMENT, ()),
    "UNSORTED_SEGMENT_SUM": (SEGMENT, ()),
    # class attributes list the 8/16-bit forms as plain: MEAN and SUM only have quantized ones
    "MEAN": (("FLOAT32", "INT32", "INT64"), Q8_16),
    "SUM": (("FLOAT32", "INT32", "INT64"), Q8_16),
    # plain small integers multiply raw; quantized uint8 is refused, as TFLite
    "REDUCE_PROD": (REDUCE, ("INT8", "INT16")),
    "REDUCE_MAX": (REDUCE, Q8_16),
    "REDUCE_MIN": ((*REDUCE, "FLOAT16"), Q8_16),
    "REDUCE_WINDOW": (WINDOW, ()),
    "STABLEHLO_REDUCE_WINDOW": (WINDOW, ()),
    # stored-value max / min: the output keeps the inputs' parameters (TFLite's quantized form)
    "MAXIMUM": (MINMAX, Q8_16),
    "MINIMUM": (MINMAX, Q8_16),
    # comparisons rescale quantized 8-bit inputs (and int16 for the equality ones)
    "EQUAL": (EQUALITY, Q8_16),
    "NOT_EQUAL": (EQUALITY, Q8_16),
    "GREATER": (ORDER, ("INT8", "UINT8")),
    "GREATER_EQUAL": (ORDER, ("INT8", "UINT8")),
    "LESS": (ORDER, ("INT8", "UINT8")),
    "LESS_EQUAL": (ORDER, ("INT8", "UINT8")),
    "ARG_MAX": (("FLOAT32", "INT8", "UINT8", "INT32", "BOOL"), ("INT8", "UINT8")),
    "ARG_MIN": (("FLOAT32", "INT8", "UINT8", "INT32", "BOOL"), ("INT8", "UINT8")),
    "TOPK_V2": (("FLOAT32", "INT8", "UINT8", "INT16", "INT32", "INT64"), MOVE_Q),
    "UNIQUE": (("INT8", "UINT8", "INT16", "INT32", "INT64", "FLOAT32"), MOVE_Q),
    "WHERE": (("BOOL", "FLOAT32", "INT32", "INT64", "INT8", "UINT8", "UINT32"), ()),
    "BUCKETIZE": (("FLOAT32", "FLOAT64", "INT32", "INT64"), ()),
    # -- neural-network layers -------------------------------------------------------------------
    "CONV_2D": (F32, Q8_16),
    "DEPTHWISE_CONV_2D": (F32, Q8_16),
    "TRANSPOSE_CONV": (F32, Q8_16),
    "FULLY_CONNECTED": (F32, Q8_16),
    "CONV_3D": (F32, ()),
    "CONV_3D_TRANSPOSE": (F32, ()),
    "BATCH_MATMUL": (F32, ("INT8", "INT16")),
    "AVERAGE_POOL_2D": (POOL, Q8_16),
    "MAX_POOL_2D": (POOL, Q8_16),
    "L2_POOL_2D": (F32, ()),
    "LOCAL_RESPONSE_NORMALIZATION": (F32, ()),
    "SOFTMAX": (F32, Q8_16),
    "PRELU": (F32, Q8_16),
    "LSTM": (F32, ("INT8",)),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (F32, ("INT8",)),
    "BIDIRECTIONAL_SEQUENCE_LSTM": (F32, ()),
    "RNN": (F32, ()),
    "UNIDIRECTIONAL_SEQUENCE_RNN": (F32, ()),
    "BIDIRECTIONAL_SEQUENCE_RNN": (F32, ()),
    "SVDF": (F32, ("INT8",)),
    "EMBEDDING_LOOKUP": (NUMERIC_BOOL, ("INT8", "UINT8")),
    "EMBEDDING_LOOKUP_SPARSE": (F32, ()),
    "RESIZE_BILINEAR": (POOL, Q8_16),
    "RESIZE_NEAREST_NEIGHBOR": (DATA, Q8_16),
    # -- quantization ----------------------------------------------------------------------------
    # float32 -> int8 / uint8 / int16, and requantization from int8 / uint8 / int16 / int32
    "QUANTIZE": (F32, ("INT8", "UINT8", "INT16", "INT32")),
    # sub-byte constants (versions 6-8) are unpacked at load; float8 bytes decode (version 9)
    "DEQUANTIZE": (("FLOAT16", "FLOAT8_E4M3FN", "FLOAT8_E5M2"), ("INT8", "UINT8", "INT16", "INT4", "UINT4", "INT2")),
    "DENSIFY": (("FLOAT32", "FLOAT16", "INT8"), ("INT8",)),
    # -- data movement ---------------------------------------------------------------------------
    "BROADCAST_TO": (STRING_DATA_F8, MOVE_Q),
    "CONCATENATION": (STRING_DATA_F8, MOVE_Q),
    "EXPAND_DIMS": (STRING_DATA, MOVE_Q),
    "FILL": (STRING_DATA_F8, MOVE_Q),
    "GATHER": (STRING_DATA_F8, MOVE_Q),
    "GATHER_ND": (STRING_DATA, MOVE_Q),
    "PACK": (STRING_DATA_F8, MOVE_Q),
    "RESHAPE": (STRING_DATA, MOVE_Q),
    "SLICE": (STRING_DATA_F8, MOVE_Q),
    "SPLIT": (STRING_DATA_F8, MOVE_Q),
    "SPLIT_V": (STRING_DATA_F8, MOVE_Q),
    "SQUEEZE": (STRING_DATA, MOVE_Q),
    "STRIDED_SLICE": (STRING_DATA, MOVE_Q),
    "TILE": (STRING_DATA, MOVE_Q),
    "TRANSPOSE": (STRING_DATA_F8, MOVE_Q),
    "UNPACK": (STRING_DATA_F8, MOVE_Q),
    "DEPTH_TO_SPACE": (DATA, MOVE_Q),
    "SPACE_TO_DEPTH": (DATA, MOVE_Q),
    "MIRROR_PAD": (DATA, MOVE_Q),
    "PAD": (DATA_F8, MOVE_Q),
    "PADV2": (DATA_F8, MOVE_Q),
    "REVERSE_V2": (DATA_F8, MOVE_Q),
    "ZEROS_LIKE": (DATA, ()),
    "BATCH_TO_SPACE_ND": (FIXED, MOVE_Q),
    "SPACE_TO_BATCH_ND": (FIXED, MOVE_Q),
    "DYNAMIC_UPDATE_SLICE": (FIXED, MOVE_Q),
    "MATRIX_SET_DIAG": (FIXED, MOVE_Q),
    "MATRIX_DIAG": (FIXED, ()),
    "REVERSE_SEQUENCE": (("FLOAT32", "INT16", "INT32", "INT64", "UINT8"), ("UINT8", "INT16")),
    "SELECT": (("BOOL", "INT8", "UINT8", "INT16", "UINT16", "FLOAT16", "INT32", "UINT32", "FLOAT32", "INT64",
                "UINT64", "FLOAT64", "COMPLEX64"), MOVE_Q),
    "SELECT_V2": (("BOOL", "INT8", "UINT8", "INT16", "UINT16", "FLOAT16", "INT32", "UINT32", "FLOAT32", "INT64",
                   "UINT64", "FLOAT64", "COMPLEX64"), MOVE_Q),
    "SCATTER_ND": (("FLOAT32", "INT32", "INT64", "UINT8", "INT8", "BOOL"), ()),
    "SPARSE_TO_DENSE": (("FLOAT32", "INT32", "INT64", "INT8", "UINT8"), ("INT8", "UINT8")),
    "ONE_HOT": (("FLOAT32", "INT32", "INT64", "INT8", "UINT8", "BOOL"), ()),
    "DILATE": (NUMERIC_BOOL, MOVE_Q),
    "STABLEHLO_PAD": (NUMERIC_BOOL, ()),
    "STABLEHLO_GATHER": (NUMERIC, ()),
    "STABLEHLO_SCATTER": (NUMERIC, ()),
    "BITCAST": (ALL_FIXED, ()),
    # -- shapes ----------------------------------------------------------------------------------
    "SHAPE": (VALUES, ()),
    "RANK": (VALUES, ()),
    "BROADCAST_ARGS": (("INT32", "INT64"), ()),
    "RANGE": (("INT32", "INT64", "FLOAT32"), ()),
    # -- random, signal, detection, text ---------------------------------------------------------
    "RANDOM_UNIFORM": (F32, ()),
    "RANDOM_STANDARD_NORMAL": (F32, ()),
    "MULTINOMIAL": (F32, ()),
    "STABLEHLO_RNG_BIT_GENERATOR": (("INT32", "UINT32", "INT64", "UINT64"), ()),
    "RFFT2D": (F32, ()),
    "NON_MAX_SUPPRESSION_V4": (F32, ()),
    "NON_MAX_SUPPRESSION_V5": (F32, ()),
    "HASHTABLE_LOOKUP": ((*NUMERIC_BOOL, "STRING"), ()),
    "LSH_PROJECTION": ((*NUMERIC_BOOL, "STRING"), ()),
    "SKIP_GRAM": (("STRING",), ()),
    # -- resources -------------------------------------------------------------------------------
    "VAR_HANDLE": (VALUES, ()),
    "READ_VARIABLE": (VALUES, ()),
    "ASSIGN_VARIABLE": (VALUES, ()),
    "HASHTABLE": (TABLE_VALUES, ()),
    "HASHTABLE_FIND": (TABLE_VALUES, ()),
    "HASHTABLE_IMPORT": (TABLE_VALUES, ()),
    "HASHTABLE_SIZE": (TABLE_VALUES, ()),
    # -- control flow ----------------------------------------------------------------------------
    "WHILE": (EVERY, Q8_16),
    "IF": (EVERY, Q8_16),
    "CALL_ONCE": (EVERY, Q8_16),
    "STABLEHLO_CASE": (EVERY, Q8_16),
    "STABLEHLO_COMPOSITE": (EVERY, Q8_16),
}
