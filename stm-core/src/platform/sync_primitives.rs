//! The primitives every backend builds the same way from its own `sync`
//! module (std's, shuttle's or loom's): the atomic word, the mutex and the
//! one-shot wake-up event.

/// Implements [`AtomicWord`](super::AtomicWord) and [`Lock`](super::Lock)
/// for `$sync`'s types and defines `$event`, a [`WakeEvent`](super::WakeEvent)
/// built from `$sync`'s mutex and condition variable.
macro_rules! sync_primitives {
    ($sync:path, $event:ident) => {
        use $sync as sync_module;
        sync_primitives!(@with sync_module, $event);
    };
    (@with $sync:ident, $event:ident) => {
        impl AtomicWord for $sync::atomic::AtomicU64 {
            #[inline]
            fn new(value: u64) -> Self {
                $sync::atomic::AtomicU64::new(value)
            }
            #[inline]
            fn load(&self, order: Ordering) -> u64 {
                self.load(order)
            }
            #[inline]
            fn store(&self, value: u64, order: Ordering) {
                self.store(value, order)
            }
            #[inline]
            fn swap(&self, value: u64, order: Ordering) -> u64 {
                self.swap(value, order)
            }
            #[inline]
            fn compare_exchange(
                &self,
                current: u64,
                new: u64,
                success: Ordering,
                failure: Ordering,
            ) -> Result<u64, u64> {
                self.compare_exchange(current, new, success, failure)
            }
            #[inline]
            fn fetch_add(&self, value: u64, order: Ordering) -> u64 {
                self.fetch_add(value, order)
            }
        }

        impl AtomicPointer for $sync::atomic::AtomicPtr<()> {
            #[inline]
            fn new(value: *mut ()) -> Self {
                $sync::atomic::AtomicPtr::new(value)
            }
            #[inline]
            fn load(&self, order: Ordering) -> *mut () {
                self.load(order)
            }
            #[inline]
            fn store(&self, value: *mut (), order: Ordering) {
                self.store(value, order)
            }
            #[inline]
            fn swap(&self, value: *mut (), order: Ordering) -> *mut () {
                self.swap(value, order)
            }
        }

        impl<T: Send> Lock<T> for $sync::Mutex<T> {
            #[inline]
            fn new(value: T) -> Self {
                $sync::Mutex::new(value)
            }
            #[inline]
            fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
                let mut guard = self.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                f(&mut guard)
            }
        }

        /// A one-shot event built from a mutex and a condition variable.
        #[derive(Debug)]
        pub struct $event {
            notified: $sync::Mutex<bool>,
            wake: $sync::Condvar,
        }

        impl WakeEvent for $event {
            fn new() -> Self {
                Self {
                    notified: $sync::Mutex::new(false),
                    wake: $sync::Condvar::new(),
                }
            }
            fn wait(&self) {
                let mut notified = self.notified.lock().unwrap_or_else(|p| p.into_inner());
                while !*notified {
                    notified = self.wake.wait(notified).unwrap_or_else(|p| p.into_inner());
                }
            }
            fn notify(&self) {
                *self.notified.lock().unwrap_or_else(|p| p.into_inner()) = true;
                self.wake.notify_all();
            }
        }

    };
}
