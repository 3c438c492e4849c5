//! The model-checker backends (shuttle and loom) differ only in the crate
//! that provides the primitives, so both are generated from this one macro.

/// Defines a [`Platform`](super::Platform) backed by `$model`'s primitives.
macro_rules! model_backend {
    ($model:ident, $name:ident, $what:literal) => {
        use super::{AtomicWord, Join, Lock, Ordering, Platform, WakeEvent};
        use std::cell::Cell;

        #[doc = concat!("Backend for ", $what, ". Every engine object, the runtime")]
        #[doc = concat!("(`Stm::<", stringify!($name), ">::new()`) first, must be created")]
        #[doc = "inside the model closure: a fresh runtime per execution."]
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl AtomicWord for $model::sync::atomic::AtomicU64 {
            fn new(value: u64) -> Self {
                $model::sync::atomic::AtomicU64::new(value)
            }
            fn load(&self, order: Ordering) -> u64 {
                self.load(order)
            }
            fn store(&self, value: u64, order: Ordering) {
                self.store(value, order)
            }
            fn swap(&self, value: u64, order: Ordering) -> u64 {
                self.swap(value, order)
            }
            fn compare_exchange(
                &self,
                current: u64,
                new: u64,
                success: Ordering,
                failure: Ordering,
            ) -> Result<u64, u64> {
                self.compare_exchange(current, new, success, failure)
            }
            fn fetch_add(&self, value: u64, order: Ordering) -> u64 {
                self.fetch_add(value, order)
            }
        }

        impl<T: Send> Lock<T> for $model::sync::Mutex<T> {
            fn new(value: T) -> Self {
                $model::sync::Mutex::new(value)
            }
            fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
                let mut guard = self.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                f(&mut guard)
            }
        }

        /// A one-shot event built from the model's mutex and condition variable.
        #[derive(Debug)]
        pub struct ModelEvent {
            notified: $model::sync::Mutex<bool>,
            wake: $model::sync::Condvar,
        }

        impl WakeEvent for ModelEvent {
            fn new() -> Self {
                Self {
                    notified: $model::sync::Mutex::new(false),
                    wake: $model::sync::Condvar::new(),
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

        impl<T: Send + 'static> Join<T> for $model::thread::JoinHandle<T> {
            fn join(self) -> Result<T, Box<dyn core::any::Any + Send + 'static>> {
                $model::thread::JoinHandle::join(self)
            }
        }

        $model::thread_local! {
            static IN_TRANSACTION: Cell<bool> = Cell::new(false);
        }

        impl Platform for $name {
            type AtomicU64 = $model::sync::atomic::AtomicU64;
            type Mutex<T: Send + 'static> = $model::sync::Mutex<T>;
            type Event = ModelEvent;
            type JoinHandle<T: Send + 'static> = $model::thread::JoinHandle<T>;

            const STAT_STRIPES: usize = 1;
            const SPINS_BEFORE_BLOCKING: u32 = 0;

            fn available_parallelism() -> usize {
                2
            }

            fn spawn<F, T>(f: F) -> Self::JoinHandle<T>
            where
                F: FnOnce() -> T + Send + 'static,
                T: Send + 'static,
            {
                $model::thread::spawn(f)
            }

            fn yield_now() {
                $model::thread::yield_now()
            }

            fn thread_slot() -> usize {
                0
            }

            fn enter_transaction() -> bool {
                IN_TRANSACTION.with(|flag| !flag.replace(true))
            }

            fn exit_transaction() {
                IN_TRANSACTION.with(|flag| flag.set(false))
            }
        }
    };
}
