//! A runtime with the bug named by `STM_INJECT_BUG` switched on (none when
//! it is unset), so that the same test shows the correct engine passing and
//! a sanitizer catching the broken one.

use stm_core::{InjectedBug, Platform, Stm, StmConfig};

pub fn runtime<P: Platform>() -> Stm<P> {
    match std::env::var("STM_INJECT_BUG") {
        Ok(name) => {
            let bug = InjectedBug::from_name(&name)
                .unwrap_or_else(|| panic!("STM_INJECT_BUG={name}: no such bug"));
            Stm::<P>::with_injected_bug(StmConfig::default(), None, bug)
        }
        Err(_) => Stm::<P>::for_platform(),
    }
}
