//! The handle [`Stm::spawn`](crate::Stm::spawn) returns. The platform layer
//! joins through its [`Join`] trait; this wrapper gives the handle an
//! inherent `join`, so that code generic over the platform joins a thread
//! without importing that trait.

use crate::platform::{Join, Platform, Std};
use core::fmt;

/// A thread (a task, under a model checker) spawned with
/// [`Stm::spawn`](crate::Stm::spawn) on platform `P`.
///
/// ```
/// use stm_core::{Platform, Stm};
///
/// // Generic over the platform, and no trait to import for `join`.
/// fn add_one_on_a_thread<P: Platform>(stm: &Stm<P>) -> u32 {
///     let n = stm.new_tvar(0u32);
///     let worker = {
///         let (stm, n) = (stm.clone(), n.clone());
///         stm.clone().spawn(move || stm.atomically(|tx| tx.modify(&n, |x| x + 1)))
///     };
///     worker.join().unwrap();
///     n.load()
/// }
///
/// assert_eq!(add_one_on_a_thread(&Stm::new()), 1);
/// ```
pub struct JoinHandle<T: Send + 'static, P: Platform = Std> {
    handle: P::JoinHandle<T>,
}

impl<T: Send + 'static, P: Platform> JoinHandle<T, P> {
    pub(crate) fn new(handle: P::JoinHandle<T>) -> Self {
        JoinHandle { handle }
    }

    /// Waits for the thread to finish; `Err` carries the payload of its
    /// panic, as [`std::thread::JoinHandle::join`] does.
    pub fn join(self) -> Result<T, Box<dyn core::any::Any + Send + 'static>> {
        self.handle.join()
    }
}

/// The platform layer's view: code written against [`Join`] keeps working.
impl<T: Send + 'static, P: Platform> Join<T> for JoinHandle<T, P> {
    fn join(self) -> Result<T, Box<dyn core::any::Any + Send + 'static>> {
        self.handle.join()
    }
}

impl<T: Send + 'static, P: Platform> fmt::Debug for JoinHandle<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").finish_non_exhaustive()
    }
}
