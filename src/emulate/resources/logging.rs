//! placeholder

use crate::emulate::call::Handler;

pub(super) const HANDLERS: &[(&str, Handler)] = &[];
