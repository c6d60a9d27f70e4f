//! (module under construction in a parallel branch)
