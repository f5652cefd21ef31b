"""supercluster's projection and coordinate encoding, reproduced operation for operation.

Longitude and latitude map to spherical mercator in [0, 1] (latitude clipped at the mercator
limit, about ±85.0511°); supercluster 9 then stores ``(v - 0.5) * 2**30`` in an Int32Array,
which truncates toward zero. Clusters are placed at the truncated weighted mean of their
children's integer coordinates, and features come back through the inverse projection. Each
step here uses the same float64 operations in the same order, so the integers agree.

``Math.sin`` and ``Math.log`` in V8 (Node, Chromium) are ports of fdlibm, which differ from
the C library's (and numpy's) in the last bit for a few percent of arguments; one bit is
enough to move a latitude on a tile edge to the other side of an integer. :func:`fdlibm_sin`
and :func:`fdlibm_log` are the fdlibm algorithms (Sun's ``k_sin.c``, ``k_cos.c``,
``e_rem_pio2.c`` for ``|x| < 3π/4`` and ``e_log.c``) written with numpy operations, the same
float64 operations in the same order, so the projection equals V8's bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = [
    "SCALE",
    "decode",
    "encode_scalar",
    "fdlibm_log",
    "fdlibm_sin",
    "js_round",
    "lat_y",
    "lat_y_scalar",
    "lng_x",
    "lng_x_scalar",
    "to_int32",
    "to_int32_rounded",
    "x_lng",
    "y_lat",
]

FloatArray = npt.NDArray[np.float64]

SCALE = float(1 << 30)
INV_SCALE = 1.0 / SCALE


# fdlibm's polynomial coefficients and constants (the hex of each in the comment)
_S1 = -1.66666666666666324348e-01  # 0xBFC55555 55555549
_S2 = 8.33333333332248946124e-03  # 0x3F811111 1110F8A6
_S3 = -1.98412698298579493134e-04  # 0xBF2A01A0 19C161D5
_S4 = 2.75573137070700676789e-06  # 0x3EC71DE3 57B1FE7D
_S5 = -2.50507602534068634195e-08  # 0xBE5AE5E6 8A2B9CEB
_S6 = 1.58969099521155010221e-10  # 0x3DE5D93A 5ACFD57C
_C1 = 4.16666666666666019037e-02  # 0x3FA55555 5555554C
_C2 = -1.38888888888741095749e-03  # 0xBF56C16C 16C15177
_C3 = 2.48015872894767294178e-05  # 0x3EFA01A0 19CB1590
_C4 = -2.75573143513906633035e-07  # 0xBE927E4F 809C52AD
_C5 = 2.08757232129817482790e-09  # 0x3E21EE9E BDB4B1C4
_C6 = -1.13596475577881948265e-11  # 0xBDA8FAE9 BE8838D4
_PIO2_1 = 1.57079632673412561417e00  # first 33 bits of pi/2
_PIO2_1T = 6.07710050650619224932e-11  # pi/2 - _PIO2_1
_PIO2_2 = 6.07710050630396597660e-11  # second 33 bits of pi/2
_PIO2_2T = 2.02226624879595063154e-21  # pi/2 - (_PIO2_1 + _PIO2_2)
_LN2_HI = 6.93147180369123816490e-01  # 0x3FE62E42 FEE00000
_LN2_LO = 1.90821492927058770002e-10  # 0x3DEA39EF 35793C76
_LG1 = 6.666666666666735130e-01  # 0x3FE55555 55555593
_LG2 = 3.999999999940941908e-01  # 0x3FD99999 9997FA04
_LG3 = 2.857142874366239149e-01  # 0x3FD24924 94229359
_LG4 = 2.222219843214978396e-01  # 0x3FCC71C5 1D8E78AF
_LG5 = 1.818357216161805012e-01  # 0x3FC74664 96CB03DE
_LG6 = 1.531383769920937332e-01  # 0x3FC39A09 D078C69F
_LG7 = 1.479819860511658591e-01  # 0x3FC2F112 DF3E5244


def _high_word(x: FloatArray) -> npt.NDArray[np.int64]:
    """The upper 32 bits of each double (sign, exponent, top of the mantissa), signed."""
    out: npt.NDArray[np.int64] = x.view(np.int64) >> 32
    return out


def _kernel_sin(x: FloatArray) -> FloatArray:
    """fdlibm ``__kernel_sin(x, 0, 0)`` on ``|x| <= π/4``."""
    z = x * x
    v = z * x
    r = _S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))
    out: FloatArray = np.where(np.abs(x) < 2.0**-27, x, x + v * (_S1 + z * r))
    return out


def _kernel_cos(x: FloatArray, y: FloatArray) -> FloatArray:
    """fdlibm ``__kernel_cos(x, y)`` (``y`` the tail of ``x``) on ``|x| <= π/4``."""
    ix = _high_word(x) & 0x7FFFFFFF
    z = x * x
    r = z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6)))))
    small = 1.0 - (0.5 * z - (z * r - x * y))
    quarter = (np.maximum(ix - 0x00200000, 0) << 32).view(np.float64)  # x/4, low word 0
    qx = np.where(ix > 0x3FE90000, 0.28125, quarter)
    large = (1.0 - qx) - ((0.5 * z - qx) - (z * r - x * y))
    out: FloatArray = np.where(ix < 0x3E400000, 1.0, np.where(ix < 0x3FD33333, small, large))
    return out


def fdlibm_sin(x: FloatArray) -> FloatArray:
    """fdlibm's ``sin`` (V8's ``Math.sin``) for ``|x| < 3π/4``, bit for bit.

    Arguments beyond ±3π/4 (never reached from latitudes) are not reduced correctly.
    """
    x = np.asarray(x, dtype=np.float64)
    ix = _high_word(x) & 0x7FFFFFFF
    positive = x > 0
    # e_rem_pio2 for π/4 < |x| < 3π/4: n = ±1, y = x ∓ π/2 as a head and a tail
    z = np.where(positive, x - _PIO2_1, x + _PIO2_1)
    near = ix == 0x3FF921FB  # near π/2: 33 + 33 + 53 bits of π/2
    z = np.where(near, np.where(positive, z - _PIO2_2, z + _PIO2_2), z)
    tail = np.where(near, _PIO2_2T, _PIO2_1T)
    y0 = np.where(positive, z - tail, z + tail)
    y1 = np.where(positive, (z - y0) - tail, (z - y0) + tail)
    cos = _kernel_cos(y0, y1)
    out: FloatArray = np.where(ix <= 0x3FE921FB, _kernel_sin(x), np.where(positive, cos, -cos))
    return out


def fdlibm_log(x: FloatArray) -> FloatArray:
    """fdlibm's ``log`` (V8's ``Math.log``) for non-negative normal numbers, 0 and +inf."""
    x = np.asarray(x, dtype=np.float64)
    bits = x.view(np.int64)
    hx = bits >> 32
    k = (hx >> 20) - 1023
    hx = hx & 0x000FFFFF
    i = (hx + 0x95F64) & 0x100000
    normal = (((hx | (i ^ 0x3FF00000)) << 32) | (bits & 0xFFFFFFFF)).view(np.float64)
    k = k + (i >> 20)
    f = normal - 1.0
    dk = k.astype(np.float64)
    first = k == 0
    # |f| < 2**-20
    r0 = f * f * (0.5 - 0.33333333333333333 * f)
    tiny = np.where(
        f == 0.0,
        np.where(first, 0.0, dk * _LN2_HI + dk * _LN2_LO),
        np.where(first, f - r0, dk * _LN2_HI - ((r0 - dk * _LN2_LO) - f)),
    )
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    r = t2 + t1
    hfsq = 0.5 * f * f
    wide = np.where(
        first,
        f - (hfsq - s * (hfsq + r)),
        dk * _LN2_HI - ((hfsq - (s * (hfsq + r) + dk * _LN2_LO)) - f),
    )
    narrow = np.where(first, f - s * (f - r), dk * _LN2_HI - ((s * (f - r) - dk * _LN2_LO) - f))
    chosen = np.where(((hx - 0x6147A) | (0x6B851 - hx)) > 0, wide, narrow)
    out: FloatArray = np.where((0x000FFFFF & (2 + hx)) < 3, tiny, chosen)
    out = np.where(x == 0.0, -np.inf, np.where(x == np.inf, np.inf, out))
    return out


def lng_x(lng: FloatArray) -> FloatArray:
    """Longitude to mercator x in [0, 1]."""
    out: FloatArray = lng / 360.0 + 0.5
    return out


def lat_y(lat: FloatArray) -> FloatArray:
    """Latitude to mercator y in [0, 1] (0 at the north limit), clipped like supercluster.

    Computed with V8's sine and logarithm (:func:`fdlibm_sin`, :func:`fdlibm_log`), so each
    value equals supercluster's in a browser bit for bit.
    """
    lat = np.asarray(lat, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        sin = fdlibm_sin(lat * np.pi / 180.0)
        y = 0.5 - 0.25 * fdlibm_log((1.0 + sin) / (1.0 - sin)) / np.pi
    out: FloatArray = np.clip(np.nan_to_num(y, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    return out


def lng_x_scalar(lng: float) -> float:
    """Scalar :func:`lng_x`."""
    return lng / 360.0 + 0.5


def lat_y_scalar(lat: float) -> float:
    """Scalar :func:`lat_y` (the same fdlibm operations)."""
    if math.isnan(lat):
        return math.nan
    return float(lat_y(np.array([lat], dtype=np.float64))[0])


def encode_scalar(v: float) -> float:
    """A mercator coordinate in supercluster's integer scale, not truncated (query bounds)."""
    return (v - 0.5) * SCALE


def to_int32(v: FloatArray) -> npt.NDArray[np.int32]:
    """Store like an Int32Array does for in-range values: truncate toward zero."""
    return np.trunc(v).astype(np.int32)


def to_int32_rounded(v: FloatArray) -> npt.NDArray[np.int32]:
    """``Math.round`` then store in an Int32Array (@maplibre/geojson-vt 7's encoding)."""
    return js_round(v).astype(np.int32)


def decode(v: npt.NDArray[np.int32] | npt.NDArray[np.int64]) -> FloatArray:
    """Integer scale back to mercator [0, 1]."""
    out: FloatArray = v.astype(np.float64) * INV_SCALE + 0.5
    return out


def x_lng(x: FloatArray) -> FloatArray:
    """Mercator x to longitude."""
    out: FloatArray = (x - 0.5) * 360.0
    return out


def y_lat(y: FloatArray) -> FloatArray:
    """Mercator y to latitude."""
    y2 = (180.0 - y * 360.0) * np.pi / 180.0
    out: FloatArray = 360.0 * np.arctan(np.exp(y2)) / np.pi - 90.0
    return out


def js_round(v: FloatArray) -> npt.NDArray[np.int64]:
    """JavaScript's ``Math.round``: halves go toward +infinity."""
    f = np.floor(v)
    return (f + (v - f >= 0.5)).astype(np.int64)
