(component
  (core module $m (func (export "f")))
  (core instance $i (instantiate $m))
  (func $f (canon lift (core func $i "f")))
  (instance $inst (export "f" (func $f)))
  (export "other:pkg/thing@1.0.0" (instance $inst)))
