package meter_test

import (
	"fmt"

	"github.com/onexhost/onex-host/host/internal/meter"
)

func ExampleInstrument() {
	// (module (func (export "spin") (loop (br 0))))
	wasm := []byte("\x00asm\x01\x00\x00\x00" +
		"\x01\x04\x01\x60\x00\x00" + // type 0: () -> ()
		"\x03\x02\x01\x00" + // function 0 has type 0
		"\x07\x08\x01\x04spin\x00\x00" + // export "spin" = function 0
		"\x0a\x09\x01\x07\x00\x03\x40\x0c\x00\x0b\x0b") // loop br 0 end end
	out, info, err := meter.Instrument(wasm, meter.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d checks (%d functions, %d loops), %d charges, refill is function %d, fuel is global %d\n",
		info.Checks, info.Functions, info.Loops, info.Charges, info.RefillFunc, info.FuelGlobal)
	fmt.Println(len(wasm), "->", len(out), "bytes")
	// Output:
	// 1 checks (1 functions, 1 loops), 2 charges, refill is function 0, fuel is global 0
	// 39 -> 106 bytes
}
