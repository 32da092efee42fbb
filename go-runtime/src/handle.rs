//! [`SharedHandle`]: the types a goroutine may share by cloning.

use std::sync::Arc;

use crate::chan::{Chan, Receiver, Sender};
use crate::context::Context;
use crate::sync::WaitGroup;

/// A cheap, cloneable handle to state that goroutines share safely: every
/// clone refers to the same channel, group, context or allocation. Go
/// passes such things by pointer (`go worker(i, &wg)`); `go!(worker(i, &wg))`
/// gives the new goroutine its own clone of a `SharedHandle` argument, so the
/// Go line ports unchanged. Implement it for your own `Arc`-backed handles.
///
/// # Example
/// ```
/// use go::SharedHandle;
///
/// #[derive(Clone)]
/// struct Inventory(std::sync::Arc<go::sync::Mutex<u32>>);
/// impl SharedHandle for Inventory {}
///
/// fn takes_handle<H: SharedHandle>(h: &H) -> H {
///     h.clone()
/// }
/// let inv = Inventory(Default::default());
/// *takes_handle(&inv).0.lock() += 1;
/// assert_eq!(*inv.0.lock(), 1);
/// ```
pub trait SharedHandle: Clone + Send + Sync + 'static {}

impl<T: ?Sized + Send + Sync + 'static> SharedHandle for Arc<T> {}
impl SharedHandle for WaitGroup {}
impl SharedHandle for Context {}
impl<T: Send + 'static> SharedHandle for Chan<T> {}
impl<T: Send + 'static> SharedHandle for Sender<T> {}
impl<T: Send + 'static> SharedHandle for Receiver<T> {}
