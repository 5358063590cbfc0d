//! Money: integer minor units of an ISO 4217 currency, never floating point.
//!
//! [`Money`] adds and subtracts only within one currency and only without overflow. Providers
//! that take decimal strings (`"12.50"`) get them from [`Money::to_decimal_string`], and their
//! answers come back through [`Money::from_decimal_str`]: both exact, by the currency's exponent.

use serde::{Deserialize, Serialize};

use crate::validation::{invalid, ValidationErrors};

/// An ISO 4217 currency code: three upper-case ASCII letters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "ZAR"))]
pub struct Currency([u8; 3]);

/// Currencies whose minor unit is not a hundredth (ISO 4217's exponent column); every other
/// code has two decimals.
const EXPONENTS: &[(&str, u32)] = &[
    ("BHD", 3),
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("IQD", 3),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("PYG", 0),
    ("RWF", 0),
    ("TND", 3),
    ("UGX", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
];

impl Currency {
    /// Parses a code such as `ZAR`.
    ///
    /// # Errors
    ///
    /// `invalid_format` when it is not three upper-case letters.
    pub fn parse(raw: &str) -> Result<Self, ValidationErrors> {
        match raw.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok(Self([a, b, c])),
            _ => Err(invalid(
                "invalid_format",
                "must be an ISO 4217 code: three upper-case letters",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("parsed from ASCII letters")
    }

    /// How many decimal places the minor unit has (2 for ZAR and USD, 0 for JPY, 3 for KWD).
    pub fn exponent(self) -> u32 {
        EXPONENTS
            .iter()
            .find(|(code, _)| *code == self.as_str())
            .map_or(2, |(_, e)| *e)
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Currency {
    type Err = ValidationErrors;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(|_| {
            serde::de::Error::custom("must be an ISO 4217 code: three upper-case letters")
        })
    }
}

/// An amount in minor units of one currency. May be negative (a balance), never fractional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount: i64,
    pub currency: Currency,
}

/// Why an arithmetic or conversion step on [`Money`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("currencies differ: {0} and {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("the amount is out of range")]
    Overflow,
    #[error("not a decimal amount in {currency} (at most {exponent} decimals): {raw:?}")]
    InvalidDecimal {
        raw: String,
        currency: Currency,
        exponent: u32,
    },
}

impl Money {
    pub const fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub const fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    /// `self + other`, in one currency, without overflow.
    ///
    /// # Errors
    ///
    /// [`MoneyError::CurrencyMismatch`] or [`MoneyError::Overflow`].
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.amount
            .checked_add(other.amount)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// `self - other`, in one currency, without overflow.
    ///
    /// # Errors
    ///
    /// [`MoneyError::CurrencyMismatch`] or [`MoneyError::Overflow`].
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.amount
            .checked_sub(other.amount)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// `self × n`, without overflow.
    ///
    /// # Errors
    ///
    /// [`MoneyError::Overflow`].
    pub fn checked_mul(self, n: i64) -> Result<Money, MoneyError> {
        self.amount
            .checked_mul(n)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// `bps` basis points (1/10,000) of a non-negative amount, rounded half-up to the minor unit:
    /// 5 % (500 bps) of 1,050 is 52.5, so 53.
    ///
    /// # Errors
    ///
    /// [`MoneyError::Overflow`] for a negative amount or one too large to scale.
    pub fn share_bps(self, bps: u32) -> Result<Money, MoneyError> {
        if self.amount < 0 {
            return Err(MoneyError::Overflow);
        }
        let scaled = i128::from(self.amount) * i128::from(bps);
        let rounded = (scaled + 5_000) / 10_000;
        i64::try_from(rounded)
            .map(|amount| Money::new(amount, self.currency))
            .map_err(|_| MoneyError::Overflow)
    }

    /// The amount as a decimal string in major units, with exactly the currency's exponent of
    /// decimals: 1250 ZAR → `"12.50"`, 1250 JPY → `"1250"`, -5 USD → `"-0.05"`.
    pub fn to_decimal_string(self) -> String {
        let exponent = self.currency.exponent();
        if exponent == 0 {
            return self.amount.to_string();
        }
        let unit = 10_u64.pow(exponent);
        let magnitude = self.amount.unsigned_abs();
        let sign = if self.amount < 0 { "-" } else { "" };
        format!(
            "{sign}{}.{:0width$}",
            magnitude / unit,
            magnitude % unit,
            width = exponent as usize
        )
    }

    /// Parses a decimal amount in major units (`"12.5"`, `"12.50"`, `"-3"`) exactly. More
    /// decimals than the currency has, exponents, spaces or signs in the wrong place are refused.
    ///
    /// # Errors
    ///
    /// [`MoneyError::InvalidDecimal`] or [`MoneyError::Overflow`].
    pub fn from_decimal_str(raw: &str, currency: Currency) -> Result<Money, MoneyError> {
        let exponent = currency.exponent();
        let bad = || MoneyError::InvalidDecimal {
            raw: raw.to_owned(),
            currency,
            exponent,
        };
        let (negative, digits) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || (digits.contains('.') && fraction.is_empty())
            || fraction.len() > exponent as usize
        {
            return Err(bad());
        }
        let unit = 10_i64.pow(exponent);
        let whole: i64 = whole.parse().map_err(|_| MoneyError::Overflow)?;
        let fraction: i64 = if fraction.is_empty() {
            0
        } else {
            let padded = format!("{fraction:0<width$}", width = exponent as usize);
            padded.parse().map_err(|_| bad())?
        };
        let magnitude = whole
            .checked_mul(unit)
            .and_then(|w| w.checked_add(fraction))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(
            if negative { -magnitude } else { magnitude },
            currency,
        ))
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn currency_codes_are_three_upper_case_letters() {
        assert_eq!(cur("ZAR").as_str(), "ZAR");
        for bad in ["", "ZA", "zar", "ZARR", "Z4R", "ÀBC"] {
            assert!(Currency::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(cur("JPY").exponent(), 0);
        assert_eq!(cur("KWD").exponent(), 3);
        assert_eq!(cur("USD").exponent(), 2);
    }

    #[test]
    fn decimal_strings_round_trip_exactly() {
        let cases = [
            (1250, "ZAR", "12.50"),
            (5, "USD", "0.05"),
            (-5, "USD", "-0.05"),
            (0, "EUR", "0.00"),
            (1250, "JPY", "1250"),
            (1234, "KWD", "1.234"),
            (i64::MAX, "ZAR", "92233720368547758.07"),
        ];
        for (amount, code, text) in cases {
            let money = Money::new(amount, cur(code));
            assert_eq!(money.to_decimal_string(), text);
            assert_eq!(Money::from_decimal_str(text, cur(code)), Ok(money));
        }
        assert_eq!(
            Money::from_decimal_str("12.5", cur("ZAR")),
            Ok(Money::new(1250, cur("ZAR")))
        );
        assert_eq!(
            Money::from_decimal_str("7", cur("ZAR")),
            Ok(Money::new(700, cur("ZAR")))
        );
    }

    #[test]
    fn malformed_decimals_are_refused() {
        for bad in [
            "", "-", ".5", "1.", "1.234", "1e3", " 1.00", "+1.00", "1,00", "--1", "0x10",
        ] {
            assert!(
                Money::from_decimal_str(bad, cur("ZAR")).is_err(),
                "{bad:?} accepted"
            );
        }
        assert!(Money::from_decimal_str("1.5", cur("JPY")).is_err());
        assert_eq!(
            Money::from_decimal_str("92233720368547758.08", cur("ZAR")),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn shares_round_half_up() {
        let zar = cur("ZAR");
        assert_eq!(Money::new(1050, zar).share_bps(500).unwrap().amount, 53);
        assert_eq!(Money::new(1049, zar).share_bps(500).unwrap().amount, 52);
        assert_eq!(Money::new(10, zar).share_bps(500).unwrap().amount, 1);
        assert_eq!(Money::new(9, zar).share_bps(500).unwrap().amount, 0);
        assert_eq!(
            Money::new(i64::MAX, zar).share_bps(10_000).unwrap().amount,
            i64::MAX
        );
        assert!(Money::new(-1, zar).share_bps(500).is_err());
    }

    #[test]
    fn arithmetic_stays_in_one_currency_and_range() {
        let zar = Money::new(100, cur("ZAR"));
        let usd = Money::new(100, cur("USD"));
        assert!(matches!(
            zar.checked_add(usd),
            Err(MoneyError::CurrencyMismatch(..))
        ));
        assert_eq!(zar.checked_sub(zar).unwrap().amount, 0);
        assert_eq!(
            Money::new(i64::MAX, cur("ZAR")).checked_add(zar),
            Err(MoneyError::Overflow)
        );
        assert_eq!(zar.checked_mul(i64::MAX), Err(MoneyError::Overflow));
    }
}
