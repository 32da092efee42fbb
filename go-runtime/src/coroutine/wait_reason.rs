//! Why a goroutine is parked: the state Go's goroutine dumps print, and
//! what deadlock detection needs to know about it.
//!
//! Stored in the control block as a byte (`Goroutine::set_wait_reason`),
//! written by the goroutine itself before it parks and read by anyone as a
//! hint.

/// Why a goroutine (or thread) is parked: the state Go's goroutine dumps
/// print (docs/go-semantics.md, 59), and whether deadlock detection may count it as
/// stuck for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum WaitReason {
    /// Not parked (running or runnable).
    None = 0,
    /// A channel receive.
    ChanReceive,
    /// A channel send.
    ChanSend,
    /// A receive from a nil channel: never completes.
    ChanReceiveNil,
    /// A send to a nil channel: never completes.
    ChanSendNil,
    /// A `select` with at least one channel case.
    Select,
    /// `select {}`, or a select over nil channels only.
    SelectNoCases,
    /// `Mutex::lock`.
    SyncMutexLock,
    /// `RwMutex::write`.
    SyncRwMutexLock,
    /// `RwMutex::read`.
    SyncRwMutexRLock,
    /// `WaitGroup::wait`.
    SyncWaitGroupWait,
    /// `Cond::wait`.
    SyncCondWait,
    /// `Semaphore::acquire`, `Once` (Go's `semacquire`).
    Semacquire,
    /// `JoinHandle::join` (waiting for another goroutine to finish).
    Join,
    /// `time::sleep`, or any wait with a deadline (a timer will wake it).
    Sleep,
    /// `runtime::blocking`: a helper thread is running its call.
    Syscall,
    /// A socket operation waiting for the network (Go's `IO wait`).
    IoWait,
    /// `go::block_on`: a future that is not ready yet (anything may wake
    /// it: a reactor's thread, a timer, another goroutine).
    BlockOn,
}

impl WaitReason {
    const ALL: [WaitReason; 18] = [
        WaitReason::None,
        WaitReason::ChanReceive,
        WaitReason::ChanSend,
        WaitReason::ChanReceiveNil,
        WaitReason::ChanSendNil,
        WaitReason::Select,
        WaitReason::SelectNoCases,
        WaitReason::SyncMutexLock,
        WaitReason::SyncRwMutexLock,
        WaitReason::SyncRwMutexRLock,
        WaitReason::SyncWaitGroupWait,
        WaitReason::SyncCondWait,
        WaitReason::Semacquire,
        WaitReason::Join,
        WaitReason::Sleep,
        WaitReason::Syscall,
        WaitReason::IoWait,
        WaitReason::BlockOn,
    ];

    /// Go's name for the state, as in `goroutine 1 [chan receive]:`.
    ///
    /// # Example
    /// ```
    /// use go::runtime::WaitReason;
    /// assert_eq!(WaitReason::ChanReceive.as_str(), "chan receive");
    /// assert_eq!(WaitReason::SyncMutexLock.as_str(), "sync.Mutex.Lock");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::None => "runnable",
            WaitReason::ChanReceive => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::ChanReceiveNil => "chan receive (nil chan)",
            WaitReason::ChanSendNil => "chan send (nil chan)",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::SyncMutexLock => "sync.Mutex.Lock",
            WaitReason::SyncRwMutexLock => "sync.RWMutex.Lock",
            WaitReason::SyncRwMutexRLock => "sync.RWMutex.RLock",
            WaitReason::SyncWaitGroupWait => "sync.WaitGroup.Wait",
            WaitReason::SyncCondWait => "sync.Cond.Wait",
            WaitReason::Semacquire => "semacquire",
            WaitReason::Join => "join",
            WaitReason::Sleep => "sleep",
            WaitReason::Syscall => "syscall",
            WaitReason::IoWait => "IO wait",
            WaitReason::BlockOn => "block_on",
        }
    }

    /// Whether only another goroutine or thread can end the wait (no timer,
    /// no helper thread will): the waits deadlock detection counts.
    pub(crate) fn needs_a_waker(self) -> bool {
        !matches!(
            self,
            WaitReason::None
                | WaitReason::Sleep
                | WaitReason::Syscall
                | WaitReason::IoWait
                | WaitReason::BlockOn
        )
    }

    /// The reason stored as `v` (`None` for an unknown byte).
    /// The name of the reason stored as `byte` (Go's status text).
    pub(crate) fn name_of(byte: u8) -> &'static str {
        WaitReason::from_u8(byte).as_str()
    }

    pub(super) fn from_u8(v: u8) -> WaitReason {
        WaitReason::ALL.get(usize::from(v)).copied().unwrap_or(WaitReason::None)
    }
}

impl std::fmt::Display for WaitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
