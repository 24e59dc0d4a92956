//! The operator's syntax for a minimum REPORTED_TCB, shared by the key
//! broker's and the client's `--min-tcb`:
//! `GEN:bl=N,tee=N,snp=N,ucode=N[,fmc=N]`, e.g. `milan:bl=3,tee=0,snp=8,ucode=115`.

use snp_report::{Generation, TcbVersion};

use crate::policy::PolicyError;

const NAMES: [&str; 5] = ["bl", "tee", "snp", "ucode", "fmc"];

/// Parses one `--min-tcb` value.
pub fn parse_min_tcb(text: &str) -> Result<(Generation, TcbVersion), PolicyError> {
    let bad = |why: &str| PolicyError::MinTcb(format!("--min-tcb {text:?}: {why}"));
    let (name, fields) = text
        .split_once(':')
        .ok_or_else(|| bad("expected GEN:bl=N,tee=N,snp=N,ucode=N[,fmc=N]"))?;
    let generation = Generation::ALL
        .into_iter()
        .find(|g| g.name().eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| bad("generations are milan, genoa, turin"))?;
    let mut values: [Option<u8>; 5] = [None; 5];
    for field in fields.split(',') {
        let (key, value) = field
            .split_once('=')
            .ok_or_else(|| bad("expected name=N"))?;
        let slot = NAMES
            .iter()
            .position(|n| *n == key.trim())
            .ok_or_else(|| bad("names are bl, tee, snp, ucode, fmc"))?;
        let value: u8 = value
            .trim()
            .parse()
            .map_err(|_| bad("values are 0..=255"))?;
        if values[slot].replace(value).is_some() {
            return Err(bad("a component is given twice"));
        }
    }
    let [Some(bootloader), Some(tee), Some(snp), Some(microcode), fmc] = values else {
        return Err(bad("bl, tee, snp and ucode are required"));
    };
    let tcb = TcbVersion {
        fmc,
        bootloader,
        tee,
        snp,
        microcode,
    };
    Ok((generation, tcb))
}

/// `[fmc=N ]bl=N tee=N snp=N ucode=N`: a TCB in the same syntax.
pub fn describe_tcb(t: &TcbVersion) -> String {
    let fmc = t.fmc.map(|f| format!("fmc={f} ")).unwrap_or_default();
    format!(
        "{fmc}bl={} tee={} snp={} ucode={}",
        t.bootloader, t.tee, t.snp, t.microcode
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_describes() {
        let (g, t) = parse_min_tcb("Milan:bl=3,tee=0,snp=8,ucode=115").expect("parses");
        assert_eq!(g, Generation::Milan);
        assert_eq!(
            (t.fmc, t.bootloader, t.tee, t.snp, t.microcode),
            (None, 3, 0, 8, 115)
        );
        assert_eq!(describe_tcb(&t), "bl=3 tee=0 snp=8 ucode=115");
        let (g, t) = parse_min_tcb("turin:fmc=1,bl=2,tee=3,snp=4,ucode=5").expect("parses");
        assert_eq!((g, t.fmc), (Generation::Turin, Some(1)));
        assert_eq!(describe_tcb(&t), "fmc=1 bl=2 tee=3 snp=4 ucode=5");
        for bad in [
            "milan",
            "rome:bl=1,tee=1,snp=1,ucode=1",
            "milan:bl=1,tee=1,snp=1",
            "milan:bl=1,tee=1,snp=1,ucode=256",
            "milan:bl=1,bl=2,tee=1,snp=1,ucode=1",
            "milan:bl=1,tee=1,snp=1,ucode=1,x=2",
        ] {
            assert!(parse_min_tcb(bad).is_err(), "{bad}");
        }
    }
}
