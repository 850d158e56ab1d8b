//! OMS workers. Each kind of worker arrives with its issue; until then it is absent.
