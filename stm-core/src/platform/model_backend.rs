//! The model-checker backends (shuttle and loom) differ only in the crate
//! that provides the primitives, so both are generated from this one macro.

/// Defines a [`Platform`](super::Platform) backed by `$model`'s primitives.
macro_rules! model_backend {
    ($model:ident, $name:ident, $what:literal, $thread_slot:expr, $weak_memory:literal) => {
        use super::{AtomicPointer, AtomicWord, Join, Lock, Ordering, Platform, WakeEvent};

        #[doc = concat!("Backend for ", $what, ". Every engine object, the runtime")]
        #[doc = concat!("(`Stm::<", stringify!($name), ">::new()`) first, must be created")]
        #[doc = "inside the model closure: a fresh runtime per execution."]
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        sync_primitives!($model::sync, ModelEvent);

        impl<T: Send + 'static> Join<T> for $model::thread::JoinHandle<T> {
            fn join(self) -> Result<T, Box<dyn core::any::Any + Send + 'static>> {
                $model::thread::JoinHandle::join(self)
            }
        }

        $model::thread_local! {
            static STATE: super::ThreadState = super::ThreadState::new();
        }

        impl Platform for $name {
            type AtomicU64 = $model::sync::atomic::AtomicU64;
            type AtomicPtr = $model::sync::atomic::AtomicPtr<()>;
            type Mutex<T: Send + 'static> = $model::sync::Mutex<T>;
            type Event = ModelEvent;
            type JoinHandle<T: Send + 'static> = $model::thread::JoinHandle<T>;

            const SPINS_BEFORE_BLOCKING: u32 = 0;
            const RECLAIM_BATCH: usize = 1;

            fn models_weak_memory() -> bool {
                $weak_memory
            }

            fn is_model_checker() -> bool {
                true
            }

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
                $thread_slot
            }

            thread_state_methods!(STATE);
        }
    };
}
