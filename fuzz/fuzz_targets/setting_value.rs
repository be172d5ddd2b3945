//! `config set` values for every property, and list edits (--add, --remove) of what parsed:
//! a valid stored value or a reason, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(raw) = std::str::from_utf8(rest) else {
        return;
    };
    let names = azcm::settings::names();
    let prop = azcm::settings::find(names[pick as usize % names.len()]).unwrap();
    if let Ok(value) = azcm::settings::parse(prop, raw) {
        assert!(
            azcm::settings::check_stored(prop, &value).is_ok(),
            "{raw:?}"
        );
    }
    let stored = azcm::settings::Stored::new();
    for change in [
        azcm::settings::Change::Set(raw),
        azcm::settings::Change::Add(raw),
        azcm::settings::Change::Remove(raw),
    ] {
        if let Ok(applied) = azcm::settings::apply(&stored, prop, change) {
            if let Some(value) = applied.stored.get(prop.name) {
                assert!(azcm::settings::check_stored(prop, value).is_ok(), "{raw:?}");
            }
        }
    }
});
