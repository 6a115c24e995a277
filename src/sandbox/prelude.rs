//! The globals code sees: starlark's standard functions plus a small prelude.
//!
//! Starlark already has most of the Python builtins PAL-style programs use (`len`,
//! `range`, `int`, `float`, `str`, `abs`, `min`, `max`, `sorted`, `enumerate`, `zip`,
//! `any`, `all`, `list`, `dict`, `tuple`, ...). On the 1,319 GSM-Hard programs the only
//! missing builtins that programs call are `sum` and `round`, so the prelude adds
//! exactly those, with CPython's semantics:
//!
//! - `sum(iterable, start=0)`: `start + x0 + x1 + ...`, left to right, like CPython
//!   3.11 (3.12 sums floats with compensation, which can differ in the last bit).
//! - `round(x)`: the nearest int, ties to even (`round(2.5) == 2`);
//!   `round(x, n)`: a float correctly rounded to `n` decimals, ties to even on the
//!   exact binary value, as CPython does (`round(2.675, 2) == 2.67`, because 2.675 is
//!   really 2.67499999...); an int with `n` given stays an int (`round(1250, -2) ==
//!   1200`).
//!
//! Four of starlark's optional extensions are included because they are Python
//! builtins too and touch nothing outside the interpreter: `map`, `filter`, `set`,
//! and `print`, whose output is thrown away (see [`DiscardPrinting`]) so that a
//! leftover debugging print does not fail a node and cannot reach flowc's output.
//!
//! Nothing here reads files, the clock, the environment or randomness, and there is
//! no `load`: the dialect refuses it at parse time.

use starlark::environment::{Globals, GlobalsBuilder, LibraryExtension};
use starlark::starlark_module;
use starlark::values::float::StarlarkFloat;
use starlark::values::none::NoneOr;
use starlark::values::{Heap, UnpackValue, Value};
use starlark::PrintHandler;

/// The globals of every call: starlark's standard library, four of its extensions,
/// and the prelude.
pub fn sandbox_globals() -> Globals {
    GlobalsBuilder::extended_by(&[
        LibraryExtension::Map,
        LibraryExtension::Filter,
        LibraryExtension::SetType,
        LibraryExtension::Print,
    ])
    .with(prelude_functions)
    .build()
}

/// Swallows `print(...)`: the worker's stdout is the protocol to flowc, and output
/// that depended on nothing but the code would be noise in a node's result anyway.
pub struct DiscardPrinting;

impl PrintHandler for DiscardPrinting {
    fn println(&self, _text: &str) -> starlark::Result<()> {
        Ok(())
    }
}

/// An error raised by a prelude function, with Python's wording where it has one.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct PreludeError(String);

fn prelude_error(message: impl Into<String>) -> starlark::Error {
    starlark::Error::new_value(PreludeError(message.into()))
}

#[starlark_module]
fn prelude_functions(builder: &mut GlobalsBuilder) {
    /// `sum(iterable, start=0)`: `start` plus every item, added left to right.
    fn sum<'v>(
        #[starlark(require = pos)] iterable: Value<'v>,
        start: Option<Value<'v>>,
        heap: Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        let mut total = start.unwrap_or_else(|| heap.alloc(0));
        if total.unpack_str().is_some() {
            return Err(prelude_error("sum() can't sum strings [use ''.join(seq) instead]"));
        }
        for item in iterable.iterate(heap)? {
            total = total.add(item, heap)?;
        }
        Ok(total)
    }

    /// `round(number, ndigits=None)`, as in Python 3 (see the module docs).
    fn round<'v>(
        #[starlark(require = pos)] number: Value<'v>,
        #[starlark(default = NoneOr::None)] ndigits: NoneOr<i32>,
        heap: Heap<'v>,
    ) -> starlark::Result<Value<'v>> {
        if number.get_type() == "int" {
            return match ndigits {
                NoneOr::None => Ok(number),
                NoneOr::Other(digits) if digits >= 0 => Ok(number),
                NoneOr::Other(digits) => round_int_to_tens(number, digits.unsigned_abs(), heap),
            };
        }
        let Some(StarlarkFloat(float)) = StarlarkFloat::unpack_value_opt(number) else {
            return Err(prelude_error(format!(
                "type {} doesn't define __round__ method",
                number.get_type()
            )));
        };
        match ndigits {
            NoneOr::None => {
                if float.is_nan() {
                    return Err(prelude_error("cannot convert float NaN to integer"));
                }
                if float.is_infinite() {
                    return Err(prelude_error("cannot convert float infinity to integer"));
                }
                integral_float_to_int(float.round_ties_even(), heap)
            }
            NoneOr::Other(digits) => Ok(heap.alloc(round_float_to_decimals(float, digits))),
        }
    }
}

/// `round(n, -digits)` for an int `n`: the nearest multiple of `10**digits`, ties to
/// the even multiple, computed with starlark's own (arbitrary-precision) arithmetic.
fn round_int_to_tens<'v>(number: Value<'v>, digits: u32, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
    let ten = heap.alloc(10);
    let mut unit = heap.alloc(1);
    for _ in 0..digits {
        unit = unit.mul(ten, heap)?;
    }
    // Floor division keeps the remainder non-negative, for negative numbers too.
    let quotient = number.floor_div(unit, heap)?;
    let remainder = number.sub(quotient.mul(unit, heap)?, heap)?;
    let twice_remainder = remainder.add(remainder, heap)?;
    let quotient_is_odd = quotient.percent(heap.alloc(2), heap)?.to_bool();
    let round_up = match twice_remainder.compare(unit)? {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Equal => quotient_is_odd,
        std::cmp::Ordering::Less => false,
    };
    let rounded = if round_up {
        quotient.add(heap.alloc(1), heap)?
    } else {
        quotient
    };
    rounded.mul(unit, heap)
}

/// An integral, finite float as a starlark int, exactly (floats past 2**63 become
/// big ints).
fn integral_float_to_int<'v>(float: f64, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
    const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;
    if float.abs() < TWO_TO_63 {
        return Ok(heap.alloc(float as i64));
    }
    // |float| = mantissa * 2**exponent with a 53-bit mantissa; at this size the
    // exponent is at least 11, so the shift is exact.
    let bits = float.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64 - 1075;
    let mantissa = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    let magnitude = heap.alloc(mantissa as i64).left_shift(heap.alloc(exponent), heap)?;
    if float < 0.0 {
        magnitude.minus(heap)
    } else {
        Ok(magnitude)
    }
}

/// CPython's `round(float, ndigits)`: write the float's exact decimal expansion,
/// round it half-to-even at `ndigits` decimals, and read the result back (CPython
/// does the same with `_Py_dg_dtoa` in mode 3 and `_Py_dg_strtod`).
pub fn round_float_to_decimals(float: f64, ndigits: i32) -> f64 {
    // Past these, CPython returns the float itself, or a zero of its sign: 17
    // significant digits are exhausted / the number is below half a unit.
    const NDIGITS_MAX: i32 = 323;
    const NDIGITS_MIN: i32 = -308;
    if ndigits > NDIGITS_MAX || float == 0.0 || !float.is_finite() {
        return float;
    }
    if ndigits < NDIGITS_MIN {
        return 0.0 * float;
    }
    // 1,074 fractional digits hold any f64 exactly: formatting adds no rounding.
    let exact = format!("{:.1074}", float.abs());
    let (integer_part, fraction_part) = exact.split_once('.').unwrap_or((&exact, ""));
    let digits: Vec<u8> = integer_part
        .bytes()
        .chain(fraction_part.bytes())
        .map(|byte| byte - b'0')
        .collect();
    // Keep the digits up to `ndigits` places after the point.
    let keep = integer_part.len() as i64 + ndigits as i64;
    let rounded_digits: Vec<u8> = if keep < 0 {
        // Less than a tenth of a unit: rounds to zero.
        vec![0]
    } else {
        let keep = keep as usize;
        let mut kept: Vec<u8> = digits[..keep].to_vec();
        let next = digits.get(keep).copied().unwrap_or(0);
        let rest_is_zero = digits
            .get(keep + 1..)
            .is_none_or(|rest| rest.iter().all(|&digit| digit == 0));
        let last_is_odd = kept.last().is_some_and(|&digit| digit % 2 == 1);
        let round_up = next > 5 || (next == 5 && (!rest_is_zero || last_is_odd));
        if round_up {
            let mut position = kept.len();
            loop {
                if position == 0 {
                    kept.insert(0, 1);
                    break;
                }
                position -= 1;
                if kept[position] == 9 {
                    kept[position] = 0;
                } else {
                    kept[position] += 1;
                    break;
                }
            }
        }
        if kept.is_empty() {
            vec![0]
        } else {
            kept
        }
    };
    let text: String = rounded_digits.iter().map(|digit| char::from(b'0' + digit)).collect();
    // `digits × 10^-ndigits`, read with Rust's correctly rounded parser.
    let magnitude: f64 = format!("{text}e{}", -(ndigits as i64)).parse().unwrap_or(f64::INFINITY);
    magnitude.copysign(float)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_to_decimals_matches_cpython() {
        // Each expected value was printed by CPython 3.11.
        let cases: &[(f64, i32, f64)] = &[
            (2.675, 2, 2.67),
            (0.125, 2, 0.12),
            (0.375, 2, 0.38),
            (2.5, 0, 2.0),
            (3.5, 0, 4.0),
            (-2.5, 0, -2.0),
            (-0.4, 0, -0.0),
            (1234.5678, -2, 1200.0),
            (1250.0, -2, 1200.0),
            (1350.0, -2, 1400.0),
            (0.5, -1, 0.0),
            (5.0, -1, 0.0),
            (15.0, -1, 20.0),
            (1.0 / 3.0, 5, 0.33333),
            (123456789.98765433, 3, 123456789.988),
            (9.995, 2, 9.99),
            (99.5, 0, 100.0),
            (0.0001234, 5, 0.00012),
            (1e300, -299, 1e300),
            (4.35, 1, 4.3),
            (2.345e-10, 12, 2.35e-10),
            (1.5, 400, 1.5),
            (123.0, -400, 0.0),
        ];
        for &(float, ndigits, expected) in cases {
            let rounded = round_float_to_decimals(float, ndigits);
            assert_eq!(
                rounded.to_bits(),
                expected.to_bits(),
                "round({float}, {ndigits}) gave {rounded}, CPython gives {expected}"
            );
        }
    }
}
